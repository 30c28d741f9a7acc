"""A second real client, OWSLib, asks our OGC API Features for the items in each CRS the
collection offers (Part 2 ``crs``); every coordinate agrees with pyproj transforming the
CRS84 answer, in the axis order of the EPSG definition (EPSG:4490 is lat/lon, the
Gauss-Krüger EPSG:4549/4528 northing/easting). GDAL 3.6 cannot ask for a CRS
(test_ogc_gdal.py), so this runs on every machine."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from owslib.ogcapi.features import Features
from pyproj import Transformer

URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WANTED = (4490, 4549, 4528, 3857)
"""Asked for when the collection offers them; 4490 and 4549 it must offer."""
LIMIT = 20
TOLERANCE_M = 0.003
"""A few millimetres; in degrees, about as much on the ground."""
TOLERANCE_DEG = TOLERANCE_M / 111_000


@pytest.fixture(scope="module")
def features(ogc_base: str) -> Features:
    return Features(ogc_base, timeout=60)


def _coordinates(geometry: dict[str, Any]) -> np.ndarray:
    """Every position of a (multi)polygon or line, as one (n, 2) array."""
    flat: list[list[float]] = []

    def walk(value: Any) -> None:
        if isinstance(value[0], int | float):
            flat.append([float(value[0]), float(value[1])])
        else:
            for item in value:
                walk(item)

    walk(geometry["coordinates"])
    return np.array(flat, dtype=float)


def _by_id(collection: dict[str, Any]) -> dict[object, np.ndarray]:
    return {f["id"]: _coordinates(f["geometry"]) for f in collection["features"]}


@pytest.mark.parametrize("collection", ["buildings", "cells"])
def test_owslib_reads_each_offered_crs_as_pyproj(features: Features, collection: str) -> None:
    offered = set(features.collection(collection)["crs"])
    assert {URI.format(4490), URI.format(4549)} <= offered
    assert CRS84 in offered
    page = features.collection_items(collection, limit=LIMIT, crs=CRS84)
    reference = _by_id(page)
    assert 0 < len(reference) == min(LIMIT, page["numberMatched"])
    asked = [code for code in WANTED if URI.format(code) in offered]
    for code in asked:
        answer = _by_id(features.collection_items(collection, limit=LIMIT, crs=URI.format(code)))
        assert answer.keys() == reference.keys(), code
        # pyproj with the authority's axis order: CRS84 in lon/lat, EPSG:code as defined
        to_code = Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")
        tolerance = TOLERANCE_DEG if code == 4490 else TOLERANCE_M
        for key, lon_lat in reference.items():
            first, second = to_code.transform(lon_lat[:, 0], lon_lat[:, 1])
            expected = np.column_stack([first, second])
            np.testing.assert_allclose(answer[key], expected, rtol=0, atol=tolerance)
    assert {4490, 4549} <= set(asked)
