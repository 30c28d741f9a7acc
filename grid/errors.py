"""The root of every error the ``grid`` package raises on purpose."""


class GridError(Exception):
    """A grid-governance error with a message meant for the person who caused it."""
