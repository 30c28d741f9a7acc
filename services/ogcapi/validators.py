"""Cache validators of feature answers, from the change stamp of the collection's table.

``counts.stamps`` (migration 0007) grows a serial with every statement that changes a
published table. A feature answer's ``ETag`` hashes that serial with everything else the
body depends on (the collection's definition, the query string, the media type, the base
URL); ``Last-Modified`` is the stamp's time. The stamp is read in the same statement as
the features (one round trip), or alone, before any feature is read, when the client sent a
conditional request: a ``304`` then costs one index lookup. One versioned row (an item of
the grid) is tagged by its version instead: what ``If-Match`` on an edit compares.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from typing import Any, Final

from services.http.caching import Validators, digest, validators_for
from services.ogcapi.pool import AsyncPool
from services.ogcapi.specs import CollectionSpec

STAMP_SQL: Final = "SELECT serial, changed_at FROM counts.stamps WHERE table_name = %(stamp_table)s"


def stamp_key(spec: CollectionSpec) -> str:
    """The ``counts.stamps`` key of the spec's table (``schema.table``, unquoted)."""
    return f"{spec.schema_name}.{spec.table}"


def with_stamp(
    sql: str, values: dict[str, object], spec: CollectionSpec
) -> tuple[str, dict[str, object]]:
    """``sql``'s rows with the stamp's two columns appended (NULL when not stamped)."""
    # ``sql`` is one of ours (services/ogcapi/feature_sql.py: identifiers quoted, values bound).
    wrapped = (
        f"SELECT q.*, s.serial, s.changed_at FROM ({sql}) AS q"  # noqa: S608
        " LEFT JOIN counts.stamps AS s ON s.table_name = %(stamp_table)s"
    )
    return wrapped, {**values, "stamp_table": stamp_key(spec)}


@functools.lru_cache(maxsize=1024)
def _definition(spec: CollectionSpec) -> str:
    """A digest of the spec, the same in every worker process (``hash()`` is not)."""
    return hashlib.blake2b(spec.model_dump_json().encode(), digest_size=8).hexdigest()


def validators(
    spec: CollectionSpec,
    serial: Any,
    changed_at: dt.datetime | None,
    *request_parts: object,
) -> Validators | None:
    """Validators of an answer of ``spec`` built from ``request_parts``; None when the table
    carries no stamp (then nothing can be revalidated cheaply)."""
    if serial is None:
        return None
    return validators_for((int(serial), _definition(spec), *request_parts), changed_at)


_ROW_TAG: Final = re.compile(r'^(?:W/)?"v(\d{1,9})(?:-[0-9a-f]{1,32})?"$')


def row_validators(
    version: int, modified: dt.datetime | None, spec: CollectionSpec, *request_parts: object
) -> Validators:
    """Validators of one versioned row: a strong tag ``"v{version}-{digest}"`` whose digest
    covers the representation (CRS, properties, media type, base URL), and the time the
    row last changed."""
    representation = digest((_definition(spec), *request_parts))[:12]
    return Validators(f'"v{version}-{representation}"', modified)


def tag_version(tag: str) -> int | None:
    """The row version an ETag of :func:`row_validators` names; None if it names none."""
    found = _ROW_TAG.match(tag.strip())
    return int(found.group(1)) if found else None


async def read_stamp(pool: AsyncPool, spec: CollectionSpec) -> tuple[Any, dt.datetime | None]:
    """The stamp alone (for a conditional request), ``(None, None)`` when not stamped."""
    row = await pool.fetchone(STAMP_SQL, {"stamp_table": stamp_key(spec)})
    return (row[0], row[1]) if row is not None else (None, None)
