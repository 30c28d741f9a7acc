"""What ``bench plans`` needs around its timings: the data, the databases, and the settings
that choose how many processes our import and conflict run use.

- The ``large`` plans are written once to ``.onemap/bench/plans-large`` (plan layers only);
  the ``small`` sample city's plans are data/samples/small/plans.
- ``plans_bench_base`` is made afresh each bench run from ``onemap_template``, migrated and
  given the small sample's grid (its counties are the chunks of a run; they cover the same
  city at every scale). Every import that is timed goes into a fresh copy of it
  (``CREATE DATABASE … TEMPLATE``, untimed), so each repeat starts from the same state.
- The process count of a run is :attr:`layers.settings.PlanSettings.conflict_workers`
  (worker processes that pair and cut the chunks); the import runs in one process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from pydantic import SecretStr
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from gis.pgserver import LocalServer
    from layers.settings import PlanSettings

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".onemap" / "bench"
LARGE = WORK / "plans-large"
SMALL = ROOT / "data" / "samples" / "small"
SEED = 20261123
BASE = "plans_bench_base"


class City(NamedTuple):
    """A city's two plan files and the codes a reader needs."""

    name: str
    landuse: Path
    urban: Path


def large_city() -> City:
    """The ``large`` synthetic plans, generated on first use (several minutes)."""
    plans = LARGE / "plans"
    if not (plans / "urban_plan.shp").is_file():
        from samples.plans import plans as synthetic
        from samples.plans.scales import SCALES

        seeds = np.random.SeedSequence(SEED).spawn(8)  # as generate_plans does
        synthetic.build(LARGE, seeds, SCALES["large"])
    return City("large", plans / "landuse_plan.shp", plans / "urban_plan.shp")


def small_city() -> City:
    plans = SMALL / "plans"
    return City("small", plans / "landuse_plan.shp", plans / "urban_plan.shp")


def warm(city: City) -> int:
    """Read every file of both layers once: imports and baselines then start from the same
    (warm) page cache. Dropping the cache needs a privilege a shared machine should not use."""
    size = 0
    for shp in (city.landuse, city.urban):
        for path in shp.parent.glob(shp.stem + ".*"):
            size += len(path.read_bytes())
    return size


def settings(processes: int) -> PlanSettings:
    """Plan settings for a conflict run on ``processes`` worker processes."""
    from layers.settings import PlanSettings

    return PlanSettings(conflict_workers=processes)


def process_fields(config: PlanSettings) -> dict[str, int]:
    """The process count ``config`` sets, as the results record it."""
    return {"conflict_workers": config.conflict_workers}


@contextlib.contextmanager
def environment(processes: int) -> Iterator[None]:
    """``ONEMAP_PLANS_{IMPORT,CONFLICT}_WORKERS`` for code that reads settings itself."""
    names = ("ONEMAP_PLANS_IMPORT_WORKERS", "ONEMAP_PLANS_CONFLICT_WORKERS")
    saved = {n: os.environ.get(n) for n in names}
    os.environ.update({n: str(processes) for n in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_options(config: PlanSettings) -> dict[str, Any]:
    """Keyword arguments of ``import_layer`` from ``config``."""
    return {"densify_m": config.densify_m, "subdivide_vertices": config.subdivide_vertices}


def server() -> LocalServer:
    from gis.pgserver import LocalServer
    from gis.settings import DatabaseSettings

    local = LocalServer(DatabaseSettings(home=ROOT / ".onemap"))
    local.start()
    local.ensure_database("onemap_template")
    return local


def _admin(local: LocalServer) -> Engine:
    from gis.engine import create_engine

    return create_engine(local.url("postgres"), isolation_level="AUTOCOMMIT")


def make_base(local: LocalServer) -> None:
    """``plans_bench_base`` afresh: migrated, with the small sample's grid (the counties)."""
    from gis.engine import create_engine
    from grid.loader import load_sample
    from grid.privacy import Keyring
    from grid.settings import PrivacySettings
    from services.migrate import upgrade

    admin = _admin(local)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BASE}" TEMPLATE onemap_template'))
    admin.dispose()
    engine = create_engine(local.url(BASE))
    try:
        upgrade(engine)
        keyring = Keyring.from_settings(
            PrivacySettings(secret_key=SecretStr(secrets.token_urlsafe(32)))
        )
        with engine.begin() as conn:
            load_sample(conn, SMALL, keyring, replace=False)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()


def fresh(local: LocalServer, name: str) -> tuple[Engine, URL]:
    """Database ``name`` as a copy of the base (dropped first if left from a former run)."""
    from gis.engine import create_engine

    admin = _admin(local)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{BASE}" STRATEGY FILE_COPY'))
        conn.execute(text("CHECKPOINT"))  # the copy written out before anything is timed
    admin.dispose()
    url = local.url(name)
    return create_engine(url), url


def drop(local: LocalServer, name: str) -> None:
    admin = _admin(local)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def settle(engine: Engine) -> None:
    """After a bulk load, as docs/performance.md says: ``VACUUM (ANALYZE)`` (hint bits set
    now, not by the first reader) and a ``CHECKPOINT`` (the dirtied pages written now)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
        conn.execute(text("CHECKPOINT"))
