"""The root of every error the ``grid`` package raises on purpose, and its kinds.

Each message is written for the person who caused the error; the operation that raised it
has left the database as it was (edits run inside a savepoint that is rolled back).
"""


class GridError(Exception):
    """A grid-governance error with a message meant for the person who caused it."""


class NotFoundError(GridError):
    """The row, cell or area named does not exist."""


class CodeError(GridError):
    """A code of the wrong length, structure or parent (community, cell, citizen ID ...)."""


class InvalidGeometryError(GridError):
    """A geometry that is invalid, empty, of the wrong type or outside Lianyungang."""


class ConflictError(GridError):
    """The edit was based on a version that is no longer current: nothing was written.

    ``current`` is the row's version now when the edit named a stale one (None when a
    concurrent transaction got there first and the version is not known).
    """

    def __init__(self, message: str, current: int | None = None) -> None:
        super().__init__(message)
        self.current = current


class NotAuthorisedError(GridError):
    """The caller may not change this row (a grid worker outside their assigned cells)."""


class CellOperationError(GridError):
    """A split, merge or redraw that would break the grid (overlap, gap, leaving the community)."""


class ReasonRequiredError(GridError):
    """An unmasked read of personal data was asked for without a reason."""


class InvalidValueError(GridError):
    """A value the database refuses (a constraint, a missing linked row, a wrong type)."""
