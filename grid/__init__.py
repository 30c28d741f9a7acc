"""Grid governance: 人进户、户进房、房进格、格进图 — admin areas, cells, buildings, houses,
households, persons and grid workers, with their codes, links and protected personal data.

Modules by kind of operation: ``codes`` (validators), ``linking`` (房进格 re-link, moves),
``coverage`` (consistency checks), ``cells`` (split/merge/redraw), ``edits`` (versioned
edits, history, revert, worker authorisation), ``audit`` (the database triggers, bulk mode),
``privacy`` (protection, masked reads, the one logged unmasked read), ``sheets`` (collection
sheets), ``stats`` (roll-ups), ``loader`` (bulk load of a city dataset in the sample
format). Every error raised on purpose is a :class:`GridError`.
"""

from grid.errors import (
    CellOperationError,
    CodeError,
    ConflictError,
    GridError,
    InvalidGeometryError,
    InvalidValueError,
    NotAuthorisedError,
    NotFoundError,
    ReasonRequiredError,
)

__all__ = [
    "CellOperationError",
    "CodeError",
    "ConflictError",
    "GridError",
    "InvalidGeometryError",
    "InvalidValueError",
    "NotAuthorisedError",
    "NotFoundError",
    "ReasonRequiredError",
]
