"""The root of every error the ``layers`` package raises on purpose, and its kinds.

Each message is written for the planner who caused it; the operation that raised it has left
the database as it was (imports and runs work inside a savepoint that is rolled back).
"""


class LayerError(Exception):
    """A multi-plan integration error with a message meant for the planner."""


class UnknownLayerError(LayerError):
    """A layer id, version, conflict run or site check that does not exist."""


class UnknownPlanTypeError(LayerError):
    """A plan type the registry does not know (``plans.plan_types``)."""


class ClassificationError(LayerError):
    """An unknown classification scheme, or a mapping table that cannot be used."""


class PlanImportError(LayerError):
    """A plan file that cannot be imported at all (unreadable, no usable feature ...)."""


class RuleError(LayerError):
    """A conflict rule file that does not say what it must (unknown class, bad operation ...)."""


class SiteError(LayerError):
    """A project red line that cannot be read or made into a polygon."""
