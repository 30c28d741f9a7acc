"""The ``plan-import`` process on the real PostGIS sample city: a zipped Shapefile (GBK text,
a Gauss-Krüger CRS), a GeoPackage and a GeoJSON each give the report ``onemap plans import
--json`` gives for the same file; inputs the importer cannot use are refused by name with
nothing written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from layers.importer import ImportReport
from services.auth.keys import Principal
from services.processes.base import ProcessInputError
from services.processes.definitions.plan_import import PROCESS, check, run
from tests.processes.plan_files import (
    PLANNER,
    PLANS,
    VOLATILE,
    Context,
    onemap,
    plan_counts,
    shapefile_entries,
    upload,
    versions,
    without,
    zip_bytes,
)

PREFIX = "upload-test-"
GBK_NAME = "土地利用规划"
PLACEHOLDER = "PLACEHOLDER_"  # as many bytes as GBK_NAME in GBK: swapped in the zip's bytes
LANDUSE = ("--type", "landuse_plan", "--scheme", "GB/T 21010-2017")


@pytest.fixture(scope="module")
def url_env(engine: Engine, server_url: URL) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module", autouse=True)
def _cleanup(engine: Engine) -> Iterator[None]:
    from tests.processes.plan_files import drop_layers

    yield
    drop_layers(engine, PREFIX)


def _cli_json(url_env: str, file: Path, layer: str, *options: str) -> dict[str, Any]:
    result = onemap(url_env, "plans", "import", str(file), "--layer", layer, *options, "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _inputs(file: dict[str, Any], layer: str, *options: str, **more: Any) -> dict[str, Any]:
    """Process inputs from CLI-style options (``--type x`` → ``plan_type: x``)."""
    names = {"--type": "plan_type", "--scheme": "scheme", "--crs": "crs"}
    pairs = dict(zip(options[::2], options[1::2], strict=True))
    return {"file": file, "layer": layer, **{names[k]: v for k, v in pairs.items()}, **more}


def test_description_names_every_input_and_the_cli_report() -> None:
    assert PROCESS.id == "plan-import" and not PROCESS.sync
    assert set(PROCESS.outputs) == set(ImportReport._fields)
    assert set(PROCESS.inputs) == {"file", "layer", "plan_type", "scheme", "crs", "encoding",
                                   "code_field", "source_layer", "snapshot_date", "title",
                                   "department", "file_name"}  # fmt: skip
    assert [n for n, p in PROCESS.inputs.items() if p.min_occurs] == ["file", "layer", "plan_type"]
    roles = {r: PROCESS.allowed(Principal(role=r, name=r)) for r in
             ("public", "planner", "grid_worker", "admin")}  # fmt: skip
    assert roles == {"public": False, "planner": True, "grid_worker": False, "admin": True}


def test_zipped_gbk_shapefile_equals_the_cli(engine: Engine, url_env: str) -> None:
    """The sample 土规 (GBK text and field name 备注, EPSG:4528 zone 40 with its .prj, three
    invalid geometries and three unknown codes) zipped in a folder with the junk zip tools
    add: the same report as the CLI's, repairs and rejects included."""
    cli = _cli_json(url_env, PLANS / "landuse_plan.shp", PREFIX + "cli-shp", *LANDUSE)
    entries = shapefile_entries(PLANS / "landuse_plan.shp", prefix="规划/")
    entries += [
        ("__MACOSX/规划/._landuse_plan.shp", b"\0" * 64),
        ("规划/说明.txt", "说明".encode()),
    ]
    ctx = Context(engine)
    ours = run(_inputs(upload(zip_bytes(entries)), PREFIX + "shp", *LANDUSE), ctx)
    assert without(ours, *VOLATILE) == without(cli, *VOLATILE)
    assert ours["crs"] == "EPSG:4528" and ours["encoding"] == "gb18030"
    assert ours["status"] == "imported" and ours["loaded"] == 568
    assert len(ours["repaired"]) >= 3 and len(ours["rejected"]) == 3
    assert {"fid", "notes", "stage"} == set(ours["repaired"][0])
    percents = [p for p, _ in ctx.calls]
    assert percents[0] == 5 and percents[-1] == 100 and percents == sorted(percents)
    assert versions(engine, PREFIX + "shp")[0][:2] == (1, 568)


def test_gbk_entry_names_and_no_cpg_are_read(engine: Engine, url_env: str, tmp_path: Path) -> None:
    """A zip from Chinese Windows: GBK entry names without the UTF-8 flag, no .cpg (the
    encoding is detected); the version records the name as written."""
    for part in PLANS.glob("landuse_plan.*"):
        if part.suffix != ".cpg":
            shutil.copy(part, tmp_path / f"{GBK_NAME}{part.suffix}")
    cli = _cli_json(url_env, tmp_path / f"{GBK_NAME}.shp", PREFIX + "cli-gbk", *LANDUSE)
    entries = shapefile_entries(tmp_path / f"{GBK_NAME}.shp", name=PLACEHOLDER)
    data = zip_bytes(entries).replace(PLACEHOLDER.encode(), GBK_NAME.encode("gbk"))
    ours = run(_inputs(upload(data), PREFIX + "gbk", *LANDUSE), Context(engine))
    assert ours["source_name"] == f"{GBK_NAME}.shp"
    assert without(ours, *VOLATILE) == without(cli, *VOLATILE)


def test_geopackage_equals_the_cli(engine: Engine, url_env: str) -> None:
    gpkg = PLANS / "current_use.gpkg"
    options = ("--type", "current_use", "--scheme", "用地用海分类 2023")
    cli = _cli_json(url_env, gpkg, PREFIX + "cli-gpkg", *options)
    file = upload(gpkg.read_bytes(), "application/geopackage+sqlite3")
    ours = run(_inputs(file, PREFIX + "gpkg", *options, file_name=gpkg.name), Context(engine))
    assert without(ours, *VOLATILE) == without(cli, *VOLATILE)
    assert ours["loaded"] == 571 and ours["crs"] == "EPSG:4528"


def test_geojson_equals_the_cli_and_the_same_file_makes_no_version(
    engine: Engine, url_env: str
) -> None:
    boundary = PLANS / "dev_boundary.geojson"
    cli = _cli_json(url_env, boundary, PREFIX + "cli-json", "--type", "dev_boundary")
    file = upload(boundary.read_bytes(), "application/geo+json")
    inputs = _inputs(file, PREFIX + "json", "--type", "dev_boundary", file_name=boundary.name)
    ours = run(inputs, Context(engine))
    assert without(ours, *VOLATILE) == without(cli, *VOLATILE)
    again = run(inputs, Context(engine))
    assert again["status"] == "unchanged" and again["version"] == 1
    assert len(versions(engine, PREFIX + "json")) == 1


def test_geojson_as_an_object(engine: Engine) -> None:
    document = json.loads((PLANS / "dev_boundary.geojson").read_text(encoding="utf-8"))
    inputs = {"file": {"value": document, "mediaType": "application/geo+json"},
              "layer": PREFIX + "object", "plan_type": "dev_boundary"}  # fmt: skip
    check(inputs, PLANNER)
    ours = run(inputs, Context(engine))
    assert (ours["source_name"], ours["loaded"]) == (PREFIX + "object.geojson", 7)


def test_the_process_example_runs(engine: Engine) -> None:
    check(PROCESS.example["inputs"], PLANNER)
    try:
        ours = run(PROCESS.example["inputs"], Context(engine))
        assert (ours["status"], ours["loaded"]) == ("imported", 1)
    finally:
        from tests.processes.plan_files import drop_layers

        drop_layers(engine, PROCESS.example["inputs"]["layer"])


def test_a_shapefile_without_prj_needs_a_crs(engine: Engine) -> None:
    entries = [e for e in shapefile_entries(PLANS / "urban_plan.shp") if not e[0].endswith(".prj")]
    inputs = _inputs(upload(zip_bytes(entries)), PREFIX + "noprj", "--type", "urban_plan",
                     "--scheme", "GB 50137-2011")  # fmt: skip
    check(inputs, PLANNER)  # the server does not open files: the worker finds it out
    before = plan_counts(engine)
    with pytest.raises(ProcessInputError, match=r"urban_plan\.shp: has no CRS") as raised:
        run(inputs, Context(engine))
    assert raised.value.input == "file" and "onemap-upload-" not in str(raised.value)
    assert plan_counts(engine) == before
    ours = run({**inputs, "crs": "EPSG:4549"}, Context(engine))
    assert (ours["crs"], ours["loaded"]) == ("EPSG:4549", 498)


REFUSED = {
    "unknown plan type": ({"plan_type": "no_such_type"}, "plan_type", "unknown plan type"),
    "unknown scheme": ({"scheme": "GB 99999"}, "scheme", "unknown classification scheme"),
    "unknown crs": ({"crs": "EPSG:999999"}, "crs", "999999"),
    "unknown encoding": ({"encoding": "klingon"}, "encoding", "unknown encoding"),
    "bad date": ({"snapshot_date": "2025-13-01"}, "snapshot_date", "not a date"),
    "bad layer id": ({"layer": "Upload Test"}, "layer", "lower-case"),
    "no layer id": ({"layer": None}, "layer", "required"),
    "missing code field": ({"code_field": "NOPE"}, "code_field", "no field 'NOPE'"),
    "wrong encoding": ({"encoding": "UTF-8"}, "encoding", "not UTF-8 text"),
}


@pytest.mark.parametrize("change,name,words", REFUSED.values(), ids=REFUSED.keys())
def test_inputs_the_importer_cannot_use_are_refused_by_name(
    engine: Engine, change: dict[str, Any], name: str, words: str
) -> None:
    base = _inputs(upload(zip_bytes(shapefile_entries(PLANS / "landuse_plan.shp"))),
                   PREFIX + "refused", *LANDUSE)  # fmt: skip
    inputs = {**base, **change}
    before = plan_counts(engine)
    with pytest.raises(ProcessInputError, match=words) as raised:
        check(inputs, PLANNER)
        run(inputs, Context(engine))  # what only the database knows is refused in run
    assert raised.value.input == name
    assert plan_counts(engine) == before


def test_a_layer_keeps_its_plan_type(engine: Engine) -> None:
    boundary = upload((PLANS / "dev_boundary.geojson").read_bytes(), "application/geo+json")
    run({"file": boundary, "layer": PREFIX + "typed", "plan_type": "dev_boundary"}, Context(engine))
    before = plan_counts(engine)
    inputs = {"file": boundary, "layer": PREFIX + "typed", "plan_type": "eco_redline"}
    check(inputs, PLANNER)  # the registry is the database's: only run knows
    with pytest.raises(ProcessInputError, match="registered as dev_boundary") as raised:
        run(inputs, Context(engine))
    assert raised.value.input == "layer"
    assert plan_counts(engine) == before


def test_a_geopackage_of_several_layers_needs_source_layer(engine: Engine) -> None:
    grid = PLANS.parent / "grid.gpkg"
    file = upload(grid.read_bytes(), "application/geopackage+sqlite3")
    inputs = {"file": file, "layer": PREFIX + "multi", "plan_type": "other"}
    check(inputs, PLANNER)
    before = plan_counts(engine)
    with pytest.raises(ProcessInputError, match="holds 3 layers") as raised:
        run(inputs, Context(engine))
    assert raised.value.input == "source_layer"
    assert plan_counts(engine) == before
