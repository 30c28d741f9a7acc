"""Bound values of one SQL statement: every client value goes through here, never into text.

Placeholders are psycopg's ``%(pN)s``; the statement text holds only our own SQL and
identifiers quoted from a :class:`~services.ogcapi.specs.CollectionSpec`.
"""

from __future__ import annotations


class Binds:
    """Collects values and hands out their placeholders.

    >>> b = Binds()
    >>> b(5), b("x'; DROP TABLE y; --"), b.values["p1"]
    ('%(p0)s', '%(p1)s', "x'; DROP TABLE y; --")
    """

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s"
