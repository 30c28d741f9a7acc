"""What one request may read from, decided once at its start (services/readrouting/middleware.py)
and asked by the pool (services/readrouting/pool.py) at every checkout of the request."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final


@dataclass
class Route:
    """One request's reading rules.

    Attributes
    ----------
    write
        Everything the request does goes to the primary, reads included: it may write (any
        method but GET, HEAD, OPTIONS; an edit reads the row it wrote back), or it reads
        what only the primary holds as it must (a feature's history, from the audit).
    after_lsn
        The client's last write position on the primary: a replica serves this request only
        once it has replayed that far (0: any replica in bounds).
    node
        The node that served the request's first read; its later reads go there too, so that
        a change stamp and the rows it describes come from the same snapshot of the data.
    """

    write: bool
    after_lsn: int = 0
    node: str | None = None


ROUTE: Final[ContextVar[Route | None]] = ContextVar("onemap_read_route", default=None)
"""The current request's :class:`Route`; None outside a request (background work), which
reads from the primary."""
