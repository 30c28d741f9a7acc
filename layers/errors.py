"""The root of every error the ``layers`` package raises on purpose."""


class LayerError(Exception):
    """A multi-plan integration error with a message meant for the planner."""
