"""SQL of the feature routes: PostGIS writes the GeoJSON, Python only frames it.

One statement answers a page: the rows of the page (keyset or offset), each feature as
GeoJSON text (``ST_AsGeoJSON`` for the geometry, kept valid on the output grid by
:func:`~services.ogcapi.crs.geojson_sql`, ``json_build_object`` for the properties)
joined by ``string_agg``, the sort keys of the first and last row (for the links), and
``numberMatched``: from ``counts.rows`` (kept exact by triggers) when nothing filters, else
``count(*)`` over at most ``count_limit + 1`` matching rows. The statement shapes live in
``feature_sql.sql``; this module fills them with quoted identifiers and placeholders only.
"""

from __future__ import annotations

from dataclasses import dataclass

from gis.sql_files import statement
from services.ogcapi import cql
from services.ogcapi.binds import Binds
from services.ogcapi.crs import geojson_sql
from services.ogcapi.pages import Cursor
from services.ogcapi.params import ItemsRequest, Output, SortKey
from services.ogcapi.specs import CollectionSpec, quote

ALIAS = "t"


@dataclass(frozen=True)
class Statement:
    sql: str
    values: dict[str, object]


def _col(name: str) -> str:
    return f"{ALIAS}.{quote(name)}"


def feature_sql(spec: CollectionSpec, output: Output) -> str:
    """One row's GeoJSON Feature as text, built by PostGIS."""
    if output.skip_geometry:
        geometry = "'null'"
    else:
        expr = geojson_sql(_col(spec.geometry_column), output.crs, spec.geometry_type)
        geometry = f"coalesce({expr}, 'null')"
    if output.properties:
        pairs = ", ".join(f"'{p.name}', {_col(p.column)}" for p in output.properties)
        properties = f"json_build_object({pairs})::text"
    else:
        properties = "'{}'"
    return (
        f"""'{{"type":"Feature","id":' || to_json({_col(spec.id_column)})::text"""
        f""" || ',"geometry":' || {geometry}"""
        f""" || ',"properties":' || {properties} || '}}'"""
    )


def match_conditions(spec: CollectionSpec, request: ItemsRequest, binds: Binds) -> list[str]:
    """Conditions of the collection and the request's filters (not the cursor)."""
    found = [f"{_col(column)} = {binds(value)}" for column, value in spec.fixed]
    if request.bbox is not None:
        x0, y0, x1, y1 = (binds(v) for v in request.bbox)
        envelope = f"ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4490)"
        found.append(f"ST_Intersects({_col(spec.geometry_column)}, {envelope})")
    if request.interval is not None and spec.datetime_column is not None:
        column = _col(spec.datetime_column)
        span = request.interval
        if span.start is not None and span.start == span.end and span.end_inclusive:
            found.append(f"{column} = {binds(span.start)}")
        else:
            if span.start is not None:
                found.append(f"{column} >= {binds(span.start)}")
            if span.end is not None:
                found.append(f"{column} {'<=' if span.end_inclusive else '<'} {binds(span.end)}")
    for prop, value in request.equals:
        found.append(f"{_col(prop.column)} = {binds(value)}")
    if request.filter is not None:
        found.append(cql.to_sql(request.filter, spec, binds, request.filter_crs, ALIAS))
    return found


def _after(key: SortKey, value: object, binds: Binds, backwards: bool) -> str:
    """``key`` strictly beyond ``value`` in the walking direction; NULL sorts as largest
    (PostgreSQL's default: ASC NULLS LAST, DESC NULLS FIRST)."""
    column = _col(key.prop.column)
    upward = key.descending == backwards  # walking towards larger values
    if value is None:
        return "FALSE" if upward else f"{column} IS NOT NULL"
    bound = binds(value)
    if not key.prop.nullable:
        return f"{column} {'>' if upward else '<'} {bound}"
    return f"({column} > {bound} OR {column} IS NULL)" if upward else f"{column} < {bound}"


def _equal(key: SortKey, value: object, binds: Binds) -> str:
    column = _col(key.prop.column)
    return f"{column} IS NULL" if value is None else f"{column} = {binds(value)}"


def keyset_condition(sort: tuple[SortKey, ...], cursor: Cursor, binds: Binds) -> str:
    """Rows after (before) the cursor: OR over i of (keys before i equal AND key i beyond);
    a row comparison when every key is NOT NULL and sorted the same way (one index range)."""
    same_way = len({k.descending for k in sort}) == 1
    if same_way and all(not k.prop.nullable for k in sort) and None not in cursor.values:
        upward = sort[0].descending == cursor.backwards
        columns = ", ".join(_col(k.prop.column) for k in sort)
        values = ", ".join(binds(v) for v in cursor.values)
        return f"(({columns}) {'>' if upward else '<'} ({values}))"
    terms = []
    for i, key in enumerate(sort):
        parts = [_equal(k, v, binds) for k, v in zip(sort[:i], cursor.values[:i], strict=True)]
        parts.append(_after(key, cursor.values[i], binds, cursor.backwards))
        terms.append("(" + " AND ".join(parts) + ")")
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def _order(sort: tuple[SortKey, ...], backwards: bool) -> str:
    return ", ".join(
        f"{_col(k.prop.column)} {'DESC' if k.descending != backwards else 'ASC'}" for k in sort
    )


def _columns(spec: CollectionSpec, request: ItemsRequest) -> str:
    names = [spec.id_column, *(p.column for p in request.output.properties)]
    names += [k.prop.column for k in request.sort]
    if not request.output.skip_geometry:
        names.append(spec.geometry_column)
    return ", ".join(_col(n) for n in dict.fromkeys(names))


def _matched(
    spec: CollectionSpec, request: ItemsRequest, binds: Binds, count_limit: int, match: list[str]
) -> str:
    if not request.filtered and spec.counter is not None:
        return statement(__name__, "counter").format(
            table=binds(spec.counter.table), part=binds(spec.counter.part)
        )
    if count_limit <= 0:
        return "NULL::bigint"
    where = " AND ".join(match) or "TRUE"
    return statement(__name__, "count").format(
        table=spec.qualified_table, alias=ALIAS, where=where, cap=binds(count_limit + 1)
    )


def items_statement(spec: CollectionSpec, request: ItemsRequest, count_limit: int) -> Statement:
    """The one statement answering ``/items``: features, keys of the ends, numberMatched."""
    binds = Binds()
    backwards = request.cursor is not None and request.cursor.backwards
    match = match_conditions(spec, request, binds)
    where = list(match)
    if request.cursor is not None:
        where.append(keyset_condition(request.sort, request.cursor, binds))
    keys = ", ".join(_col(k.prop.column) for k in request.sort)
    sql = statement(__name__, "items").format(
        columns=_columns(spec, request),
        table=spec.qualified_table,
        alias=ALIAS,
        where=" AND ".join(where) or "TRUE",
        order=_order(request.sort, backwards),
        fetch=binds(request.limit + 1),
        offset=binds(request.offset),
        feature=feature_sql(spec, request.output),
        direction="DESC" if backwards else "ASC",
        limit=binds(request.limit),
        keys=keys,
        matched=_matched(spec, request, binds, count_limit, match),
    )
    return Statement(sql, binds.values)


def item_statement(spec: CollectionSpec, key: int | str, output: Output) -> Statement:
    """One feature by its key (within the collection's fixed conditions), its row version
    and the time it last changed (NULL for collections without them)."""
    binds = Binds()
    where = [f"{_col(spec.id_column)} = {binds(key)}"]
    where += [f"{_col(column)} = {binds(value)}" for column, value in spec.fixed]
    version = _col(spec.version_column) if spec.version_column else "NULL::integer"
    modified = _col(spec.datetime_column) if spec.datetime_column else "NULL::timestamptz"
    sql = statement(__name__, "item").format(
        feature=feature_sql(spec, output),
        version=version,
        modified=modified,
        table=spec.qualified_table,
        alias=ALIAS,
        where=" AND ".join(where),
    )
    return Statement(sql, binds.values)
