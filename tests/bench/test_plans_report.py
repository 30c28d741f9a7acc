"""bench/_plans_report.py: the equality check, medians and ratios, and the verdicts."""

from typing import Any

from bench import _plans_report as report

TYPES = {"a": {"patches": 3, "area_m2": 1000.0}, "b": {"patches": 1, "area_m2": 50.0}}


def test_check_wants_equal_patches_and_areas_within_a_thousandth() -> None:
    assert report.check(TYPES, TYPES)["equal"]
    close = {"a": {"patches": 3, "area_m2": 1000.9}, "b": TYPES["b"]}
    assert report.check(close, TYPES)["equal"]
    far = {"a": {"patches": 3, "area_m2": 1001.5}, "b": TYPES["b"]}
    assert not report.check(far, TYPES)["equal"]
    fewer = {"a": {"patches": 2, "area_m2": 1000.0}, "b": TYPES["b"]}
    assert not report.check(fewer, TYPES)["equal"]
    assert not report.check({"a": TYPES["a"]}, TYPES)["equal"]  # a type missing


def _run(seconds: float, peak: float) -> dict[str, Any]:
    memory = {"peak_mb": peak, "cpu_s": seconds * 1.5}
    return {"seconds": seconds, "types": TYPES, "chunks": [], "memory": memory}


def _city(ours_all: float, gp: float) -> dict[str, Any]:
    imported = {"seconds": 10.0, "features": 1000}
    return {
        "cores": 2,
        "data": "x",
        "ours": {
            "analysis": {"1": [_run(4.0, 100), _run(5.0, 120)], "2": [_run(ours_all, 150)] * 2},
            "from_files": {
                "1": [{**_run(20.0, 300), "import": imported}],
                "2": [{**_run(12.0, 400), "import": {**imported, "seconds": 6.0}}],
            },
        },
        "geopandas": {
            "analysis": {
                "types": TYPES,
                "read_prepare_s": 1.0,
                "runs": [{"seconds": gp, "cpu_s": gp, "memory": {"peak_mb": 500}}],
            },
            "files": [{"runs": [{"seconds": 14.0, "cpu_s": 14.0, "memory": None}]}],
        },
        "ogr2ogr": [{"seconds": 1.0}, {"seconds": 2.0}, {"seconds": 3.0}],
    }


def test_summary_ratios_memory_and_verdicts() -> None:
    city = _city(ours_all=2.0, gp=10.0)
    s = report.summary(city, targets=True)
    assert s["analysis"]["ours_1"] == {
        "median_s": 4.5,
        "peak_mb": 120,
        "cpu_s": 6.75,
        "vs_geopandas": 2.22,
    }
    assert s["analysis"]["ours_2"]["vs_geopandas"] == 5.0
    assert s["from_files"]["ours_2"]["vs_geopandas"] == 1.17
    assert s["import"]["ogr2ogr"]["features_per_s"] == 500
    assert s["import"]["ours_2"]["vs_ogr2ogr"] == 0.33
    assert s["check"]["equal"] and s["processes_agree"]
    v = s["verdicts"]
    assert v["analysis only, all cores ≥ 5×"].startswith("met")
    assert v["analysis only, one process ≥ 2.5×"].startswith("not met")
    assert v["import ≥ 0.33× ogr2ogr"].startswith("met")
    results = {
        "machine": {"cpus": 2, "python": "3", "load_average_start": [1.0, 1.0, 1.0]},
        "options": {"repeats": 2},
        "cities": {"large": {**city, "summary": s}},
    }
    assert not report.passed(results)
    assert "Passed: no." in report.markdown(results)
    assert report.flat(results)["passed"] is False
    fast = _city(ours_all=2.0, gp=12.0)
    results["cities"]["large"] = {**fast, "summary": report.summary(fast, targets=True)}
    assert report.passed(results)
