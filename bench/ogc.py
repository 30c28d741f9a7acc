"""OGC API – Features: this platform against stock pygeoapi 0.24 and tipg 1.6, and bare PostGIS.

For each city scale (``ONEMAP_BENCH_SCALES``, default ``medium,large``) a database
``ogc_bench_<scale>`` in the local cluster gets the synthetic city (``onemap samples
generate`` + ``load``; ``large`` is copied from :data:`LOADED` when that database exists and
is idle); when that cannot be done, when the city has too few buildings for the deep page
(``small``), or for the scale ``synthetic``, 300 000 synthetic buildings are written with
``generate_series`` instead (reported as ``data``). The cluster, its PostGIS template and
the database are made by the platform's own code (``gis.pgserver.LocalServer``), so the
bench runs from a fresh clone after ``make install``. The schema is brought to head, and
the database vacuumed until the visibility map covers the buildings.

Then ``ONEMAP_BENCH_ROUNDS`` rounds (default 2): in each, every server runs alone, one after
another, with the same workers (``ONEMAP_BENCH_WORKERS``, default: CPUs); before any timing
each request is asked once and its answer (status, feature ids in order, ``numberMatched``)
compared with this platform's (the first difference is reported); then wrk drives 16
connections for ``ONEMAP_BENCH_SECONDS`` (default 10) per request after a warm-up,
``ONEMAP_BENCH_REPEATS`` times (default 1; the round keeps the medians). Requests:

- first page of buildings (limit 100); a dense 500 m bbox (limit 1000); the page after
  100 000 features as ``offset=100000`` (``deep_offset``, every server) and, for this
  platform, as the keyset cursor its ``next`` links give (``deep_cursor``; the peers' next
  links are offsets, so their ``deep_offset`` is what a client following links gets); one
  item; a CQL2 attribute filter; a CQL2 ``S_INTERSECTS`` filter.

``ONEMAP_BENCH_BASELINE=/path/to/an/older/tree`` adds that version of this platform to the
same run (before/after figures against the same peers). pgbench runs our SQL for each
request (the physical limit). Ratios are our requests/s over the peer's for the same request
(``deep_cursor`` is also set against the peers' ``deep_offset``, reported apart), given as
the range over the rounds. Targets (issue 7): at least 1.5x tipg and 3x stock pygeoapi on
list requests, at least tipg on one item, in every round, p99 under 4x p50 for ours. A peer
that answers with errors, completes no request, or answers differently is reported as such
and not compared (bench/_ogc_compare.py). Results go to ``.onemap/bench/ogc-results.{json,md}``.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url

from bench import _ogc_compare as compare
from bench import _ogc_load as load
from bench import _ogc_servers as servers

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
CONNECTIONS = 16
DEEP = 100_000
SYNTHETIC_BUILDINGS = 300_000
LOADED = {"large": "onemap_large_grid"}
"""Databases of the local cluster that already hold a city (loaded with the migrations),
copied instead of generating the city again."""
TEMPLATE = "onemap_template"
"""The PostGIS-enabled template the bench databases are made from (as tests/conftest.py)."""
LIST_REQUESTS = ("first_page", "bbox_500m", "deep_offset", "cql2_attribute", "cql2_intersects")
CURSOR = "deep_cursor"
"""Ours only: the deep page through the keyset cursor, set against the peers' offset page."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


# --- the database --------------------------------------------------------------------------


def _cluster() -> tuple[Any, Engine]:
    from gis.engine import create_engine
    from gis.pgserver import LocalServer
    from gis.settings import DatabaseSettings

    server = LocalServer(DatabaseSettings(home=ROOT / ".onemap"))
    server.start()
    server.ensure_database(TEMPLATE)  # a fresh clone has none yet
    return server, create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")


def _onemap(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _synthetic_buildings(engine: Engine, n: int) -> None:
    """A dense grid of small footprints around Haizhou, when the sample city is not ready."""
    side = math.ceil(math.sqrt(n))
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL onemap.bulk = 'on'"))
        conn.execute(
            text(
                "INSERT INTO grid.buildings (code, name, use, floors, address, geom)"
                " SELECT 'SYN' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE '楼' || g END,"
                " (ARRAY['residential','commercial','industrial','public','mixed','other'])"
                "[1 + g % 6], 1 + (g::bigint * 7919) % 30, '合成地址' || g,"
                " ST_MakeEnvelope(119.0 + (g % :side) * 0.0003, 34.45 + (g / :side) * 0.00025,"
                " 119.0 + (g % :side) * 0.0003 + 0.0002, 34.45 + (g / :side) * 0.00025 + 0.00015,"
                " 4490) FROM generate_series(0, :n - 1) AS g"
            ),
            {"side": side, "n": n},
        )


def _vacuum(engine: Engine) -> float:
    """VACUUM (ANALYZE) until the visibility map covers the tables; the share all-visible."""
    share = 0.0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for _ in range(6):
            conn.execute(text("VACUUM (ANALYZE) grid.buildings, grid.cells, grid.admin_areas"))
            pages, visible = conn.execute(
                text(
                    "SELECT relpages, relallvisible FROM pg_class"
                    " WHERE oid = 'grid.buildings'::regclass"
                )
            ).one()
            share = visible / pages if pages else 1.0
            if share >= 0.99:
                break
            time.sleep(1)
    return share


def prepare(scale: str, admin: Engine, server: Any) -> tuple[URL, str]:
    """The bench database of ``scale`` (reused when complete); returns its URL and the data."""
    from gis.engine import create_engine
    from services.migrate import upgrade

    name = f"ogc_bench_{scale}"
    url = server.url(name)
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        comment = conn.execute(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"
            ),
            {"n": name},
        ).scalar_one_or_none()
    if exists.first() is not None and comment and comment.startswith("ogc bench ready"):
        engine = create_engine(url)
        upgrade(engine)  # a database made by an older bench: bring its schema to head
        engine.dispose()
        return url, comment.removeprefix("ogc bench ready: ")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        loaded = _clone_loaded(conn, scale, name)
        if loaded is None:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    engine = create_engine(url)
    upgrade(engine)
    if loaded is not None:
        return _ready(admin, engine, name, f"sample city {scale} (copy of {loaded})")
    dsn = url.render_as_string(hide_password=False)
    env = {"ONEMAP_DATABASE_URL": dsn, "ONEMAP_SECRET_KEY": secrets.token_urlsafe(32)}
    city = WORK / f"city-{scale}"
    data = f"sample city {scale}"
    if scale == "synthetic":
        data = "synthetic (asked for)"
    elif not (city / "manifest.json").exists():
        made = _onemap("samples", "generate", "--scale", scale, "--out", str(city), env=env)
        if made.returncode != 0:
            data = f"synthetic (samples generate failed: {made.stderr.strip()[-200:]})"
    if data.startswith("sample"):
        loaded = _onemap("samples", "load", str(city), env=env)
        if loaded.returncode != 0:
            data = f"synthetic (samples load failed: {loaded.stderr.strip()[-200:]})"
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one()
    if count < DEEP + 1000:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE grid.buildings RESTART IDENTITY CASCADE"))
        _synthetic_buildings(engine, SYNTHETIC_BUILDINGS)
        if data.startswith("sample"):
            data = f"synthetic ({count} buildings in sample {scale} < {DEEP + 1000})"
    return _ready(admin, engine, name, data)


def _clone_loaded(conn: Connection, scale: str, name: str) -> str | None:
    """Copy a database already holding the city of ``scale`` (:data:`LOADED`) into ``name``
    (a file copy takes a minute where generating the large city takes fifteen); None when
    there is none, or it is in use (a template must have no sessions)."""
    source = LOADED.get(scale)
    if source is None:
        return None
    found = conn.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE datname = :s"), {"s": source}
    ).scalar_one()
    exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :s"), {"s": source})
    if exists.first() is None or found:
        return None
    conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY = FILE_COPY'))
    return source


def _ready(admin: Engine, engine: Engine, name: str, data: str) -> tuple[URL, str]:
    """Mark the bench database complete (its comment names the data); returns URL and data."""
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one()
    data = f"{data}: {count} buildings"
    url = engine.url
    engine.dispose()
    with admin.connect() as conn:
        quoted = data.replace("'", "''")
        conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS 'ogc bench ready: {quoted}'"))
    return url, data


# --- the requests -------------------------------------------------------------------------


def plan(engine: Engine) -> dict[str, Any]:
    """Constants of the requests: the densest 500 m square, an item, a cell to filter on."""
    with engine.connect() as conn:
        lat = conn.execute(
            text("SELECT ST_Y(ST_Centroid(ST_Extent(geom))) FROM grid.buildings")
        ).scalar_one()
        dy = 500 / 111_320
        dx = 500 / (111_320 * math.cos(math.radians(lat)))
        i, j = conn.execute(
            text(
                "SELECT floor(ST_X(c) / :dx), floor(ST_Y(c) / :dy) FROM (SELECT"
                " ST_PointOnSurface(geom) AS c FROM grid.buildings) s GROUP BY 1, 2"
                " ORDER BY count(*) DESC LIMIT 1"
            ),
            {"dx": dx, "dy": dy},
        ).one()
        bbox = (i * dx, j * dy, (i + 1) * dx, (j + 1) * dy)
        n = conn.execute(text("SELECT count(*) FROM grid.buildings")).scalar_one()
        item = conn.execute(
            text("SELECT id FROM grid.buildings ORDER BY id OFFSET :o LIMIT 1"), {"o": n // 2}
        ).scalar_one()
        cell = conn.execute(
            text("SELECT cell_id FROM grid.buildings WHERE cell_id IS NOT NULL GROUP BY 1"
                 " ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one_or_none()  # fmt: skip
    attribute = f"cell_id = {cell} AND floors >= 2" if cell else "floors >= 28 AND use = 'public'"
    return {"bbox": bbox, "item": item, "attribute": attribute, "buildings": n}


def _polygon(bbox: tuple[float, float, float, float]) -> str:
    x0, y0, x1, y1 = bbox
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def _url(base: str, extra: str, **params: str) -> str:
    query = [*parse_qsl(extra), *params.items()]
    return f"{base}?{urlencode(query)}" if query else base


def _deep_cursor_url(system: servers.System) -> str:
    """Ours: follow next links (asking 10 000 a page) to the page after 100 000 features,
    counting the features each page returned (a server may cap the page size)."""
    url = _url(system.items, system.extra, limit="10000", skipGeometry="true")
    skipped = 0
    while skipped < DEEP:
        body = httpx.get(url, timeout=300).json()
        skipped += len(body["features"])
        following = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
        if not following:
            raise RuntimeError(f"fewer than {DEEP} buildings: no page after {DEEP}")
        url = following[0]
    if skipped != DEEP:
        raise RuntimeError(f"pages do not end at {DEEP} features (at {skipped})")
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("limit", "skipGeometry")]
    return urlunsplit(parts._replace(query=urlencode([*query, ("limit", "100")])))


def urls(system: servers.System, constants: dict[str, Any]) -> dict[str, str]:
    bbox = ",".join(str(v) for v in constants["bbox"])
    items, extra, geometry = system.items, system.extra, system.geometry
    found = {
        "first_page": _url(items, extra, limit="100"),
        "bbox_500m": _url(items, extra, bbox=bbox, limit="1000"),
        "deep_offset": _url(items, extra, offset=str(DEEP), limit="100"),
        "one_item": f"{items}/{constants['item']}" + (f"?{extra}" if extra else ""),
        "cql2_attribute": _url(items, extra, **{"filter-lang": "cql2-text"},
                               filter=constants["attribute"], limit="100"),
        "cql2_intersects": _url(items, extra, **{"filter-lang": "cql2-text"},
                                filter=f"S_INTERSECTS({geometry}, {_polygon(constants['bbox'])})",
                                limit="100"),
    }  # fmt: skip
    if system.name.startswith("onemap"):
        found[CURSOR] = _deep_cursor_url(system)
    return found


def _bare_sql(dsn: URL, constants: dict[str, Any]) -> dict[str, str]:
    """Our statements for each request, with literal values, for pgbench."""
    import psycopg

    from services.ogcapi.feature_sql import item_statement, items_statement
    from services.ogcapi.pages import encode_cursor
    from services.ogcapi.params import items_request
    from services.ogcapi.sources import GRID_SPECS

    spec = next(s for s in GRID_SPECS if s.id == "buildings")
    bbox = ",".join(str(v) for v in constants["bbox"])
    requests = {
        "first_page": [("limit", "100")],
        "bbox_500m": [("bbox", bbox), ("limit", "1000")],
        "deep_offset": [("offset", str(DEEP)), ("limit", "100")],
        "cql2_attribute": [("filter", constants["attribute"]), ("limit", "100")],
        "cql2_intersects": [("filter", f"S_INTERSECTS(geometry, {_polygon(constants['bbox'])})"),
                            ("limit", "100")],
    }  # fmt: skip
    statements = {k: items_statement(spec, items_request(q, spec, 10, 10_000), 100_000)
                  for k, q in requests.items()}  # fmt: skip
    with psycopg.connect(
        dsn.set(drivername="postgresql").render_as_string(hide_password=False)
    ) as conn:
        key = conn.execute(
            "SELECT json_build_array(id)::text FROM grid.buildings ORDER BY id OFFSET %s LIMIT 1",
            (DEEP - 1,),
        ).fetchone()
        sort = items_request([], spec, 10, 10_000).sort
        cursor = encode_cursor(False, sort, key[0]) if key else ""
        statements[CURSOR] = items_statement(
            spec, items_request([("cursor", cursor), ("limit", "100")], spec, 10, 10_000), 100_000
        )
        output = items_request([], spec, 10, 10_000).output
        statements["one_item"] = item_statement(spec, constants["item"], output)
        cursor_ = psycopg.ClientCursor(conn)
        return {k: cursor_.mogrify(s.sql, s.values) for k, s in statements.items()}


# --- the run ------------------------------------------------------------------------------


def _answers(
    targets: dict[str, str], reference: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Each request asked once, before any timing; ``answer``: the first difference from
    ``reference`` (this platform's answers; None for this platform itself, whose cursor page
    is held to its own offset page instead)."""
    found = {request: compare.answer(url) for request, url in targets.items()}
    for request, got in found.items():
        if reference is None:
            same_as = found["deep_offset"] if request == CURSOR else None
        else:
            same_as = reference.get(request)
        got["answer"] = compare.difference(same_as, got) if same_as else None
    return found


def _measure(
    system: servers.System,
    constants: dict[str, Any],
    seconds: int,
    repeats: int,
    reference: dict[str, Any] | None,
) -> dict[str, Any]:
    """One server in one round: its answers first, then wrk on each request."""
    targets = urls(system, constants)
    found = _answers(targets, reference)
    for request, url in targets.items():
        load.wrk(url, max(2, seconds // 4), CONNECTIONS)  # warm-up
        runs = [load.wrk(url, seconds, CONNECTIONS).as_dict() for _ in range(repeats)]
        found[request] |= compare.median_figures(runs)
    return found


PEERS_COMPARED = ("tipg", "pygeoapi")


def _ratios(found: dict[str, Any], seconds: int) -> dict[str, dict[str, Any]]:
    """Per request and peer: our/peer requests/s over the rounds (range), or why none."""
    table: dict[str, dict[str, Any]] = {}
    for request in found["rounds"][0]["onemap"]:
        against = "deep_offset" if request == CURSOR else request
        table[request] = {
            peer: compare.ratios(found["rounds"], request, peer, seconds, against)
            for peer in PEERS_COMPARED
        }
    return table


def _verdict(found: dict[str, Any], seconds: int) -> dict[str, str]:
    """Per request: ``met``, ``missed: ...`` (a peer's target in some round, or ours failed
    or had a long tail) or ``not compared: ...`` (a peer failed or answered differently: the
    target is neither met nor missed)."""
    verdict = {}
    for request, peers in found["ratios"].items():
        if request == CURSOR:
            verdict[request] = "not a target (cursor against the peers' offset page)"
            continue
        parts = []
        needs = compare.TARGETS if request in LIST_REQUESTS else compare.ITEM_TARGETS
        for peer, need in needs.items():
            parts.append(f"{peer} {compare.verdict(peers[peer], need)}")
        for number, round_ in enumerate(found["rounds"], 1):
            ours = round_["onemap"][request]
            why = compare.failure(ours, seconds)
            if why is not None:
                parts.append(f"ours {why} (round {number})")
            elif ours["p99_ms"] >= 4 * ours["p50_ms"]:
                tail = f"p99 {ours['p99_ms']} ≥ 4 × p50 {ours['p50_ms']}"
                parts.append(f"ours {tail} (round {number})")
        if any(p.startswith("ours") or " missed" in p for p in parts):
            verdict[request] = "missed: " + "; ".join(parts)
        elif any(" not compared" in p for p in parts):
            verdict[request] = "not compared: " + "; ".join(parts)
        else:
            verdict[request] = "met"
    return verdict


def run() -> dict[str, object]:
    """Run the comparison; returns flat figures (the full tables are in ogc-results.md)."""
    from bench import _ogc_report as report

    WORK.mkdir(parents=True, exist_ok=True)
    seconds = int(_env("ONEMAP_BENCH_SECONDS", "10"))
    workers = int(_env("ONEMAP_BENCH_WORKERS", str(os.cpu_count() or 2)))
    rounds = max(1, int(_env("ONEMAP_BENCH_ROUNDS", "2")))
    repeats = max(1, int(_env("ONEMAP_BENCH_REPEATS", "1")))
    scales = [s for s in _env("ONEMAP_BENCH_SCALES", "medium,large").split(",") if s]
    load.ensure_wrk()
    for peer in servers.PEERS:
        servers.ensure_peer(peer)
    server, admin = _cluster()
    results: dict[str, Any] = {"workers": workers, "connections": CONNECTIONS,
                               "seconds": seconds, "rounds": rounds, "repeats": repeats,
                               "scales": {}}  # fmt: skip
    baseline = _env("ONEMAP_BENCH_BASELINE", "")

    def server_dsn(dsn: str) -> str:
        """The same database as the HTTP server logs in (the cluster's ``onemap_server``)."""
        url = server.server_url(make_url(dsn).database)
        return str(url.render_as_string(hide_password=False))

    starters: list[tuple[str, Callable[[str], AbstractContextManager[servers.System]]]] = [
        ("onemap", lambda dsn: servers.onemap(dsn, workers, server_dsn=server_dsn(dsn))),
        *([("onemap-baseline", lambda dsn: servers.onemap(dsn, workers, baseline=Path(baseline),
                                                          server_dsn=server_dsn(dsn)))]
          if baseline else []),
        ("pygeoapi", lambda dsn: servers.pygeoapi(dsn, workers)),
        ("pygeoapi-4490", lambda dsn: servers.pygeoapi(dsn, workers, storage_4490=True)),
        ("tipg", lambda dsn: servers.tipg(dsn, workers)),
    ]  # fmt: skip
    for scale in scales:
        url, data = prepare(scale, admin, server)
        from gis.engine import create_engine

        engine = create_engine(url)
        visible = _vacuum(engine)
        constants = plan(engine)
        engine.dispose()
        dsn = url.render_as_string(hide_password=False)
        described = {k: str(v) for k, v in constants.items()}
        found: dict[str, Any] = {"data": data, "all_visible": round(visible, 3),
                                 "constants": described, "rounds": []}  # fmt: skip
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        bare = _bare_sql(url, constants)
        for _ in range(rounds):
            round_: dict[str, Any] = {}
            for name, start in starters:
                try:
                    with start(dsn) as system:
                        reference = None if name == "onemap" else round_.get("onemap")
                        round_[name] = _measure(system, constants, seconds, repeats, reference)
                except Exception as exc:  # a server that cannot start is reported, not fatal
                    round_[name] = {"error": str(exc)[:300]}
            round_["postgis"] = {
                request: compare.median_figures(
                    [load.pgbench(plain, sql, seconds, CONNECTIONS).as_dict()
                     for _ in range(repeats)])
                for request, sql in bare.items()
            }  # fmt: skip
            found["rounds"].append(round_)
        if "error" in found["rounds"][0]["onemap"]:
            raise RuntimeError(f"this platform did not start: {found['rounds'][0]['onemap']}")
        found["ratios"] = _ratios(found, seconds)
        found["verdict"] = _verdict(found, seconds)
        results["scales"][scale] = found
        (WORK / "ogc-results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
        (WORK / "ogc-results.md").write_text(report.markdown(results, SYSTEMS))
    admin.dispose()
    flat: dict[str, object] = {}
    for scale, found in results["scales"].items():
        for request, verdict in found["verdict"].items():
            rates = [r["onemap"][request]["rps"] for r in found["rounds"]]
            flat[f"{scale} {request} req/s (rounds)"] = " / ".join(f"{r:.0f}" for r in rates)
            for peer, ratio in found["ratios"][request].items():
                flat[f"{scale} {request} × {peer}"] = compare.span(ratio)
            flat[f"{scale} {request} answers"] = report.answers_line(found, request)
            flat[f"{scale} {request} target"] = verdict
    verdicts = [v for found in results["scales"].values() for v in found["verdict"].values()]
    counts = {k: sum(v.startswith(k) for v in verdicts) for k in ("met", "missed", "not compared")}
    flat["targets"] = ", ".join(f"{k} {n}" for k, n in counts.items())
    flat["results"] = str(WORK / "ogc-results.md")
    flat["passed"] = counts["missed"] == 0  # not compared is not met: see "targets"
    return flat


SYSTEMS = {
    "onemap": "this platform",
    "onemap-baseline": "this platform, baseline",
    "pygeoapi": "stock pygeoapi 0.24",
    "pygeoapi-4490": "stock pygeoapi 0.24, storage_crs 4490",
    "tipg": "tipg 1.6",
    "postgis": "bare PostGIS (pgbench)",
}
"""Column titles, in table order."""
