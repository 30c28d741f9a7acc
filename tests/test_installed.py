"""The platform installed as a wheel, not from the checkout: everything it reads at run time
(SQL files, migrations, package data, templates) must come with the package.

The project (the files git would commit) is built into a wheel and installed, without its
dependencies, into a new virtualenv that borrows the dependencies of the test environment
through a ``.pth`` line (which, unlike a site directory, runs none of the editable install's
hooks). The installed ``onemap`` then runs from a directory outside the checkout:
``--help``, and ``db upgrade`` of an empty PostGIS database to the newest revision.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from gis.engine import create_engine
from services.migrate import head_revision

ROOT = Path(__file__).resolve().parents[1]


def _copy_of_the_tree(target: Path) -> Path:
    """The files git would commit, copied: setuptools builds in the source folder (``build/``,
    ``*.egg-info``), and a build left in the checkout would ship modules deleted since."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True, cwd=ROOT,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the project installed from a wheel; returns its ``bin`` folder."""
    home = tmp_path_factory.mktemp("installed")
    venv.create(home / "venv", with_pip=False)
    python = home / "venv" / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    source = _copy_of_the_tree(home / "source")
    wheels = home / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source],
        capture_output=True, text=True, cwd=home,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("lianyungang_onemap-*.whl")
    done = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", wheel],
        capture_output=True, text=True, cwd=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return python.parent


@pytest.fixture
def empty_database(engine: Engine) -> Iterator[URL]:
    """A new database with PostGIS and nothing else, dropped afterwards."""
    name = f"onemap_installed_{secrets.token_hex(3)}"
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = engine.url.set(database=name)
    with create_engine(url).begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _run(bin_dir: Path, where: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ONEMAP_", "PYTHON"))}
    return subprocess.run(
        [str(bin_dir / "onemap"), *args], capture_output=True, text=True, cwd=where,
        env={**clean, **env}, timeout=300,
    )  # fmt: skip


def test_the_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    probe = "import gis, services, samples; print(gis.__file__, services.__file__)"
    found = subprocess.run(
        [installed / "python", "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    assert found.returncode == 0, found.stderr
    assert str(ROOT) not in found.stdout
    assert str(installed.parent) in found.stdout


def test_help_runs_from_another_directory(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    for command in ("db", "grid", "plans", "ogc", "serve", "samples"):
        assert command in done.stdout


def test_db_upgrade_migrates_an_empty_database(
    installed: Path, tmp_path: Path, empty_database: URL
) -> None:
    url = empty_database.render_as_string(hide_password=False)
    done = _run(installed, tmp_path, "db", "upgrade", ONEMAP_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr + done.stdout
    with create_engine(empty_database).connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        classes = conn.execute(text("SELECT count(*) FROM plans.landuse_codes")).scalar_one()
    assert revision == head_revision()
    assert classes > 100  # the classification tables, read from the installed package data
