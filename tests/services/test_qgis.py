"""QGIS 3.22, the desktop client planners use, reads our services as a user adds them: the
Tianditu-compatible WMTS (a WMS/WMTS connection on our capabilities) on both sets, and the
vector tiles (a vector tile layer with an XYZ template), rendered over the sample city.

QGIS runs in Debian's own Python (``python3-qgis``, which ``make install`` installs), in a
subprocess with Qt's offscreen platform: the project's virtualenv cannot import it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gis.settings import DatabaseSettings
from services.settings import Settings
from tests.services.conftest import serve

SYSTEM_PYTHON = Path("/usr/bin/python3")
SCRIPT = Path(__file__).with_name("qgis_render.py")
HAIZHOU_C = (119.10, 34.55, 119.30, 34.70)
HAIZHOU_W = (13_258_000.0, 4_103_000.0, 13_280_000.0, 4_120_000.0)


def _qgis_missing() -> str | None:
    if not SYSTEM_PYTHON.is_file():
        return f"{SYSTEM_PYTHON} is missing"
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import qgis.core"], capture_output=True, timeout=60
    )
    return None if probe.returncode == 0 else "python3-qgis is not installed (make install does)"


@pytest.fixture(scope="module")
def base(url_env: str) -> Iterator[str]:
    missing = _qgis_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    yield from serve(Settings(database=DatabaseSettings(database_url=url_env)))


def render(kind: str, uri: str, crs: str, box: tuple[float, ...], out: Path) -> dict[str, object]:
    done = subprocess.run(
        [str(SYSTEM_PYTHON), str(SCRIPT), kind, uri, crs, *map(str, box), str(out)],
        capture_output=True, text=True, timeout=180, check=False, cwd=out.parent,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(out.parent)},
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"QGIS said nothing (exit {done.returncode}): {done.stderr[-2000:]}"
    answer: dict[str, object] = json.loads(lines[-1])
    return answer


@pytest.mark.parametrize(
    ("layer", "tileset", "fmt", "crs", "box"),
    [
        ("vec", "c", "image/png", "EPSG:4490", HAIZHOU_C),
        ("img", "w", "image/jpeg", "EPSG:3857", HAIZHOU_W),
        ("ter", "c", "image/png", "EPSG:4490", HAIZHOU_C),
    ],
)
def test_qgis_draws_the_wmts_layers(
    base: str, tmp_path: Path, layer: str, tileset: str, fmt: str, crs: str, box: tuple[float, ...]
) -> None:
    uri = (
        f"crs={crs}&dpiMode=7&format={fmt}&layers={layer}&styles=default"
        f"&tileMatrixSet={tileset}&url={base}/wmts/1.0.0/WMTSCapabilities.xml"
    )
    found = render("wms", uri, crs, box, tmp_path / f"{layer}.png")
    assert found["valid"] is True, found
    assert found["errors"] == [], found
    assert found["drawn"] == pytest.approx(1.0, abs=0.05)  # the whole view is drawn
    assert int(found["colours"]) > 20  # a map, not one flat colour  # type: ignore[call-overload]


def test_qgis_draws_the_buildings_vector_tiles(base: str, tmp_path: Path, engine: Engine) -> None:
    template = f"{base}/ogc/collections/buildings/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
    uri = f"type=xyz&url={template}&zmin=14&zmax=16"
    with engine.connect() as conn:  # a 1.2 km x 0.9 km view around the first building
        x, y = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Centroid(geom), 3857) AS p"
                " FROM grid.buildings ORDER BY code LIMIT 1) AS s"
            )
        ).one()
    box = (x - 600, y - 450, x + 600, y + 450)
    found = render("vectortile", uri, "EPSG:3857", box, tmp_path / "buildings.png")
    assert found["valid"] is True, found
    assert found["errors"] == [], found
    assert 0.01 < float(found["drawn"]) < 0.9, found  # type: ignore[arg-type]
