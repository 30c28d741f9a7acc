"""CQL2 as OGC 21-065 writes it, over real HTTP and the real database.

Every example of the standard (tests/data/cql2/, text and JSON pairs) parses in both
encodings to one AST; the ones our emitter evaluates answer the same features in both on
``buildings`` (property names mapped onto its queryables), the others a 400 naming what is
not supported, never a 500. The filter limits come from ``OgcSettings`` through the routes.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from gis.settings import DatabaseSettings
from services.ogcapi import cql
from services.ogcapi.binds import Binds
from services.ogcapi.crs import default_crs
from services.ogcapi.errors import BadRequestError
from services.ogcapi.sources import GRID_SPECS
from services.settings import OgcSettings, Settings
from tests.services.conftest import serve

DATA = Path(__file__).resolve().parents[1] / "data" / "cql2"
EXAMPLES = sorted(p.stem for p in DATA.glob("*.txt"))
"""``name.txt`` pairs with ``name.json``; ``name-alt01.txt`` is another text of the same."""

BUILDINGS = next(s for s in GRID_SPECS if s.id == "buildings")

SUPPORTED = {
    "clause6_02a", "clause6_02d", "clause6_03", "clause7_01", "clause7_02", "clause7_03a",
    "clause7_03b", "clause7_07", "clause7_10", "clause7_16", "example01", "example02",
    "example03", "example04", "example05a", "example05b", "example06a", "example06b",
    "example07", "example08", "example09", "example10", "example11", "example12",
    "example13", "example14", "example15", "example16", "example17", "example18",
    "example19", "example23", "example24", "example25", "example29", "example30",
    "example31", "example32", "example33", "example34", "example35", "example36",
    "example37", "example38", "example39", "example40", "example41", "example42",
    "example43", "example44", "example45", "example46", "example47", "example48",
    "example49", "example50", "example51", "example52", "example83", "example84",
}  # fmt: skip
"""Examples of comparisons, AND/OR/NOT, LIKE, BETWEEN, IN, IS NULL and S_* functions only."""

INVALID_GEOMETRY = {"example46", "example49"}
"""Standard examples whose literal is not a valid geometry (a self-intersecting ring, a hole
outside its shell): both encodings answer the same 400."""

PROPERTIES = {
    "city": "use", "cityName": "use", "name": "name", "owner": "name", "material": "use",
    "swimming_pool": "straddles", "floors": "floors", "depth": "floors", "taxes": "floors",
    "category": "floors", "value": "floors", "id": "code", "landsat:scene_id": "code",
    "eo:instrument": "name", "landsat:wrs_path": "floors", "landsat:wrs_row": "floors",
    "eo:cloud_cover": "floors", "beamMode": "use", "swathDirection": "name",
    "polarization": "address", "footprint": "geometry", "location": "geometry",
    "road": "geometry", "updated": "updated_at", "windSpeed": "floors", "balance": "floors",
    "bridge_clearance": "floors", "vehicle_height": "floors", "foo": "floors", "bar": "floors",
    "x": "floors", "built": "updated_at", "event_time": "updated_at", "starts_at": "updated_at",
    "ends_at": "updated_at", "touchdown": "updated_at", "liftOff": "updated_at",
    "etat_vol": "name", "road_class": "use", "layer:ids": "use", "values": "use",
    "geophys:SURVEY_NAME": "name",
}  # fmt: skip
"""The examples' properties → ``buildings`` queryables of the same type."""
EVALUATED = {
    "and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "isnull",
    "s_intersects", "s_within", "s_contains", "s_disjoint", "s_equals", "s_touches",
    "s_crosses", "s_overlaps",
}  # fmt: skip
OVERRIDES = {"example03": {"landsat:wrs_path": "use"}, "example40": {"value": "use"}}
"""Where an example compares a property with text that elsewhere holds numbers."""

_TEXT_NAMES = re.compile(r"""'(?:[^']|'')*'|"([^"]+)"|([A-Za-z_][\w:.]*)""")


def _pair(name: str) -> tuple[str, str]:
    example = name.split("-")[0]
    return (DATA / f"{name}.txt").read_text().strip(), (DATA / f"{example}.json").read_text()


def _names(name: str) -> dict[str, str]:
    return {**PROPERTIES, **OVERRIDES.get(name.split("-")[0], {})}


def _rename_text(filter_text: str, names: dict[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(1) or match.group(2)
        return names.get(word, match.group()) if word else match.group()

    return _TEXT_NAMES.sub(swap, filter_text)


def _rename_json(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"property"}:
            return {"property": names.get(node["property"], node["property"])}
        return {k: _rename_json(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_json(v, names) for v in node]
    return node


def _unsupported_names(node: Any) -> set[str]:
    """How the API names each operator of ``node`` that it does not evaluate."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _unsupported_names(item)
    elif isinstance(node, dict):
        op = node.get("op")
        if isinstance(op, str) and op.lower() not in EVALUATED:
            if op.lower().startswith(("t_", "a_")):
                found.add(op.upper())
            elif op in ("+", "-", "*", "/", "^", "%", "div"):
                found.add(f"arithmetic ({op})")
            else:
                found.add(f"{op}()")
        for value in node.values():
            found |= _unsupported_names(value)
    return found


def _get(ogc: httpx.Client, filter_text: str, language: str = "cql2-text") -> httpx.Response:
    params = {"filter": filter_text, "filter-lang": language, "limit": "10000"}
    return ogc.get("collections/buildings/items", params=params)


def _ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == len(body["features"])
    return [f["id"] for f in body["features"]]


def _sql_ids(engine: Engine, where: str) -> list[int]:
    with engine.connect() as conn:
        query = text(f"SELECT id FROM grid.buildings WHERE {where} ORDER BY id")
        return list(conn.execute(query).scalars())


# --- the standard's examples --------------------------------------------------------------


def test_the_examples_are_all_there() -> None:
    assert len(EXAMPLES) >= 110  # 109 pairs of OGC 21-065 and its alternative texts
    assert all((DATA / f"{n.split('-')[0]}.json").exists() for n in EXAMPLES)
    assert set(EXAMPLES) >= SUPPORTED


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_parses_to_one_ast_in_both_encodings(name: str) -> None:
    filter_text, document = _pair(name)
    as_text = cql.parse(filter_text, "cql2-text")
    as_json = cql.parse(document, "cql2-json")
    assert as_text == as_json
    assert as_text != cql.parse("floors = 1", "cql2-text")


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_over_http_in_both_encodings(ogc: httpx.Client, name: str) -> None:
    filter_text, document = _pair(name)
    names = _names(name)
    as_text = _get(ogc, _rename_text(filter_text, names))
    renamed = _rename_json(json.loads(document), names)
    as_json = _get(ogc, json.dumps(renamed), "cql2-json")
    example = name.split("-")[0]
    if example in SUPPORTED and example not in INVALID_GEOMETRY:
        assert _ids(as_text) == _ids(as_json)
        return
    for response in (as_text, as_json):
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"code", "type", "description"}
    description = as_text.json()["description"]
    assert as_json.json()["description"] == description
    if example in INVALID_GEOMETRY:
        assert "invalid geometry" in description
    else:
        assert "not supported" in description
        assert any(n in description for n in _unsupported_names(renamed)), description


def test_text_and_json_answer_the_same_features(ogc: httpx.Client) -> None:
    """A few examples that match something, so the equality above is not only of nothing."""
    for name in ("example17", "example18", "example37", "example43", "example44", "clause7_03b"):
        filter_text, document = _pair(name)
        renamed = _rename_json(json.loads(document), _names(name))
        found = _ids(_get(ogc, _rename_text(filter_text, _names(name))))
        assert found, name
        assert found == _ids(_get(ogc, json.dumps(renamed), "cql2-json"))


# --- what pygeofilter's text grammar refused ------------------------------------------------


@pytest.mark.parametrize(
    ("cql", "where"),
    [
        ("NOT (floors = 2 OR floors = 3)", "NOT (floors = 2 OR floors = 3)"),
        ("NOT (NOT (floors = 1))", "NOT (NOT (floors = 1))"),
        ("NOT (floors = 1 AND (use = 'residential' OR straddles = false))",
         "NOT (floors = 1 AND (use = 'residential' OR NOT straddles))"),
        ("floors IS NOT NULL AND name NOT LIKE '%1%'", "name NOT LIKE '%1%'"),
        ("floors NOT BETWEEN 2 AND 4", "floors NOT BETWEEN 2 AND 4"),
        ("true", "true"),
        ("NOT false AND floors > 5", "floors > 5"),
    ],
)  # fmt: skip
def test_nested_not_matches_sql(ogc: httpx.Client, engine: Engine, cql: str, where: str) -> None:
    expected = _sql_ids(engine, where)
    assert expected
    assert len(expected) < _count(engine) or cql == "true"
    found = _get(ogc, cql)
    assert _ids(found) == expected
    assert found.json()["numberMatched"] == len(expected)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one())


# --- numbers: cql2-rs reads 2 as 2.0 ----------------------------------------------------------


def test_integer_literals_stay_integers() -> None:
    for source, language in (
        ("floors = 2", "cql2-text"),
        ("floors = 2.0", "cql2-text"),
        ('{"op": "=", "args": [{"property": "floors"}, 2]}', "cql2-json"),
    ):
        binds = Binds()
        cql.to_sql(cql.parse(source, language), BUILDINGS, binds, default_crs(), "t")
        assert binds.values == {"p0": 2} and type(binds.values["p0"]) is int


def test_integer_queryables_and_fractions(ogc: httpx.Client, engine: Engine) -> None:
    two = _sql_ids(engine, "floors = 2")
    assert two
    assert _ids(_get(ogc, "floors = 2.0")) == two
    assert _ids(_get(ogc, "floors IN (2.0, 2.5)")) == two
    assert _ids(_get(ogc, "floors = 2.5")) == []  # a number, compared as one (as before)
    refused = ogc.get("collections/buildings/items", params={"floors": "2.5"})
    assert refused.status_code == 400  # an equality parameter of an integer: as before
    assert "compares a string with an integer" in _get(ogc, "name = 2").json()["description"]
    assert "with a number" in _get(ogc, "name = 2.5").json()["description"]


def test_integers_beyond_2_to_the_53(ogc: httpx.Client) -> None:
    refused = _get(ogc, "id = 9007199254740993")
    assert refused.status_code == 400
    assert "cql2-json" in refused.json()["description"]
    exact = '{"op": "=", "args": [{"property": "id"}, 9007199254740993]}'
    assert _ids(_get(ogc, exact, "cql2-json")) == []
    for digits in ("99999999999999999999", "9" * 5000):  # int() refuses over 4 300 digits
        out_of_range = f'{{"op": "=", "args": [{{"property": "id"}}, {digits}]}}'
        assert "out of range" in _get(ogc, out_of_range, "cql2-json").json()["description"]
        assert "beyond 2^53" in _get(ogc, f"id = {digits}").json()["description"]
    assert "beyond 2^53" in _get(ogc, "9" * 5000).json()["description"]


# --- unreadable filters: one sentence, 400 ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "language", "words"),
    [
        ("floors >", "cql2-text", "not valid cql2-text at column 9: expected"),
        ("floors = 1 floors", "cql2-text", "expected the end of the filter"),
        ("S_INTERSECTS(geometry, POINT(1))", "cql2-text", "POINT(...) is not a valid geometry"),
        ('{"op": "="', "cql2-json", "not valid cql2-json"),
        ('{"op": "=", "args": [1]}', "cql2-json", "= takes 2 arguments, not 1"),
        ('{"op": "like", "args": [{"property": "name"}, null]}', "cql2-json", "IS NULL"),
        ("[1, 2]", "cql2-json", "is a condition, not a list"),
        ("floors", "cql2-text", "is a condition, not the property 'floors'"),
        ("avg(floors) < 4", "cql2-text", "the function avg() is not supported"),
        ("CASEI(name) = CASEI('a')", "cql2-text", "the function casei() is not supported"),
        ("NOT straddles", "cql2-text", "'straddles' is a property, not a condition"),
        ("T_AFTER(updated_at, DATE('2020-01-01'))", "cql2-text",
         "the temporal operator T_AFTER is not supported"),
        ("A_CONTAINS(use, ('a'))", "cql2-text", "the array operator A_CONTAINS"),
        ("floors > (version + 1)", "cql2-text", "arithmetic (+) is not supported"),
        ("NOT (" * 1200 + "floors > 1" + ")" * 1200, "cql2-text", "nested more than 128 levels"),
        ("NOT " * 2000 + "floors > 1", "cql2-text", "nested more than 128 levels"),
    ],
)  # fmt: skip
def test_unreadable_filters_are_one_sentence(
    ogc: httpx.Client, source: str, language: str, words: str
) -> None:
    response = _get(ogc, source, language)
    assert response.status_code == 400, response.text
    description = response.json()["description"]
    assert words in description
    assert "\n" not in description and description.count(". ") == 0
    assert ogc.get("collections/buildings/items", params={"limit": "1"}).status_code == 200


# --- limits -----------------------------------------------------------------------------------


def test_default_limits(ogc: httpx.Client) -> None:
    long = _get(ogc, f"name = '{'a' * 10_000}'")
    assert long.status_code == 400
    assert "more than the limit of 10000" in long.json()["description"]
    terms = " OR ".join(f"floors = {i}" for i in range(200))  # 200 predicates + OR: 201
    assert "more than 200 terms" in _get(ogc, terms).json()["description"]
    assert _get(ogc, " OR ".join(f"floors = {i}" for i in range(199))).status_code == 200


def test_chains_of_one_operator_count_once() -> None:
    """150 OR'd terms are 151 in text; nesting the same ORs in cql2-json does not add any."""
    equal = [{"op": "=", "args": [{"property": "floors"}, i]} for i in range(199)]
    chained: dict[str, Any] = {"op": "or", "args": equal}
    nested = {"op": "or", "args": [{"op": "or", "args": equal[:100]}, *equal[100:]]}
    limits = cql.FilterLimits(chars=100_000, terms=200)
    assert cql.parse(json.dumps(chained), "cql2-json", limits) == cql.parse(
        json.dumps(nested), "cql2-json", limits
    )
    with pytest.raises(BadRequestError, match="more than 200 terms"):
        cql.parse(json.dumps({"op": "not", "args": [{"op": "not", "args": [chained]}]}),
                  "cql2-json", limits)  # fmt: skip


@pytest.fixture(scope="module")
def tight(url_env: str) -> Iterator[httpx.Client]:
    """The app with small filter limits, to show that the settings reach both routes."""
    ogc = OgcSettings(max_filter_chars=300, max_filter_terms=4, max_filter_vertices=12)
    settings = Settings(database=DatabaseSettings(database_url=url_env), ogc=ogc)
    for base in serve(settings):
        with httpx.Client(base_url=f"{base}/ogc/", timeout=60) as http:
            yield http


@pytest.mark.parametrize("f", ["json", "html"])
def test_limits_come_from_the_settings(tight: httpx.Client, f: str) -> None:
    def description(filter_text: str) -> str:
        params = {"filter": filter_text, "f": f}
        response = tight.get("collections/buildings/items", params=params)
        assert response.status_code == 400, response.text
        if f == "html":  # the same message, on a page
            assert response.headers["content-type"].startswith("text/html")
            return html.unescape(response.text)
        return str(response.json()["description"])

    assert "more than the limit of 300" in description(f"name = '{'a' * 300}'")
    assert "more than 4 terms" in description("floors = 1 OR floors = 2 OR NOT floors = 3")
    square = "POLYGON((119 34, 119.1 34, 119.1 34.1, 119 34.1, 119 34))"  # 5 vertices
    allowed = f"S_INTERSECTS(geometry, {square}) OR S_WITHIN(geometry, BBOX(1, 2, 3, 4))"
    response = tight.get("collections/buildings/items", params={"filter": allowed, "f": f})
    assert response.status_code == 200, response.text  # 3 terms, 9 vertices
    line = ", ".join(f"119.{i:02d} 34.{i:02d}" for i in range(13))
    assert "more than 12 vertices" in description(f"S_CROSSES(geometry, LINESTRING({line}))")


def test_many_ored_spatial_terms_work(ogc: httpx.Client, engine: Engine) -> None:
    """The probe's filter: 150 S_INTERSECTS over small boxes, OR'd (within the defaults)."""
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
                " FROM (SELECT ST_Extent(geom) e FROM grid.buildings) s"
            )
        ).one()
    pick = random.Random(7)
    boxes = []
    for _ in range(150):
        x, y = pick.uniform(x0, x1), pick.uniform(y0, y1)
        boxes.append((round(x, 3), round(y, 3), round(x + 0.004, 3), round(y + 0.004, 3)))
    filter_text = " OR ".join(
        f"S_INTERSECTS(geometry,BBOX({a},{b},{c},{d}))" for a, b, c, d in boxes
    )
    assert len(filter_text) <= 10_000
    where = " OR ".join(
        f"ST_Intersects(geom, ST_MakeEnvelope({a}, {b}, {c}, {d}, 4490))" for a, b, c, d in boxes
    )
    expected = _sql_ids(engine, where)
    assert expected
    assert _ids(_get(ogc, filter_text)) == expected


def test_parse_errors_are_bad_requests() -> None:
    with pytest.raises(BadRequestError, match="more than 2 terms"):
        cql.parse("floors = 1 AND floors = 2", "cql2-text", cql.FilterLimits(terms=2))
