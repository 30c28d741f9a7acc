"""WMTS 1.0.0 ``Capabilities`` documents: Tianditu's identifiers (layers ``vec`` … ``ter``,
sets ``c`` and ``w``, levels ``1``-``18``, its origin and matrix sizes), with OGC scales.

The scale denominators use the standardized 0.28 mm pixel (Tianditu publishes 96-dpi ones,
which make strict clients misplace its tiles by 5.8 %), and each ``TopLeftCorner`` is in its
CRS's axis order: latitude first for EPSG:4490, easting first for EPSG:3857.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from xml.sax.saxutils import escape

from gis.tms import capabilities_matrices
from services.basemaps.jobs import LAYERS, SETS

TITLES: Final = {
    "vec": "矢量底图 Vector base map",
    "cva": "矢量注记 Vector labels",
    "img": "影像底图 Imagery",
    "cia": "影像注记 Imagery labels",
    "ter": "地形晕渲 Terrain hill-shade",
}
_CRS: Final = {"c": "urn:ogc:def:crs:EPSG::4490", "w": "urn:ogc:def:crs:EPSG::3857"}
_WGS84_BOX: Final = {"c": "-180 -90", "w": "-180 -85.0511287798066"}
_WGS84_UPPER: Final = {"c": "180 90", "w": "180 85.0511287798066"}
_HEAD: Final = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Capabilities xmlns="http://www.opengis.net/wmts/1.0"'
    ' xmlns:ows="http://www.opengis.net/ows/1.1"'
    ' xmlns:xlink="http://www.w3.org/1999/xlink"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:gml="http://www.opengis.net/gml"'
    ' xsi:schemaLocation="http://www.opengis.net/wmts/1.0'
    ' http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd"'
    ' version="1.0.0">\n'
)


def media_type(layer: str) -> str:
    return "image/jpeg" if layer == "img" else "image/png"


def _extension(layer: str) -> str:
    return "jpg" if layer == "img" else "png"


def _number(value: float) -> str:
    return repr(float(value))


def _operations(kvp_url: str) -> str:
    href = escape(kvp_url, {'"': "&quot;"})
    operations = "".join(
        f'    <ows:Operation name="{name}"><ows:DCP><ows:HTTP>'
        f'<ows:Get xlink:href="{href}"><ows:Constraint name="GetEncoding">'
        "<ows:AllowedValues><ows:Value>KVP</ows:Value></ows:AllowedValues>"
        "</ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>\n"
        for name in ("GetCapabilities", "GetTile")
    )
    return f"  <ows:OperationsMetadata>\n{operations}  </ows:OperationsMetadata>\n"


def _layer(base: str, layer: str, sets: Iterable[str]) -> str:
    sets = list(sets)
    lower = _WGS84_BOX["w" if sets == ["w"] else "c"]
    upper = _WGS84_UPPER["w" if sets == ["w"] else "c"]
    links = "".join(
        f"      <TileMatrixSetLink><TileMatrixSet>{s}</TileMatrixSet></TileMatrixSetLink>\n"
        for s in sets
    )
    template = escape(
        f"{base}/wmts/1.0.0/{layer}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/"
        f"{{TileCol}}.{_extension(layer)}",
        {'"': "&quot;"},
    )
    return (
        "    <Layer>\n"
        f"      <ows:Title>{escape(TITLES[layer])}</ows:Title>\n"
        f"      <ows:WGS84BoundingBox><ows:LowerCorner>{lower}</ows:LowerCorner>"
        f"<ows:UpperCorner>{upper}</ows:UpperCorner></ows:WGS84BoundingBox>\n"
        f"      <ows:Identifier>{layer}</ows:Identifier>\n"
        '      <Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>\n'
        f"      <Format>{media_type(layer)}</Format>\n"
        f"{links}"
        f'      <ResourceURL format="{media_type(layer)}" resourceType="tile"'
        f' template="{template}"/>\n'
        "    </Layer>\n"
    )


def _tile_matrix_set(tileset: str) -> str:
    matrices = "".join(
        "      <TileMatrix>\n"
        f"        <ows:Identifier>{m['identifier']}</ows:Identifier>\n"
        f"        <ScaleDenominator>{_number(m['scaleDenominator'])}</ScaleDenominator>\n"
        "        <TopLeftCorner>"
        f"{_number(m['topLeftCorner'][0])} {_number(m['topLeftCorner'][1])}</TopLeftCorner>\n"
        f"        <TileWidth>{m['tileWidth']}</TileWidth>\n"
        f"        <TileHeight>{m['tileHeight']}</TileHeight>\n"
        f"        <MatrixWidth>{m['matrixWidth']}</MatrixWidth>\n"
        f"        <MatrixHeight>{m['matrixHeight']}</MatrixHeight>\n"
        "      </TileMatrix>\n"
        for m in capabilities_matrices(tileset)
    )
    return (
        "    <TileMatrixSet>\n"
        f"      <ows:Identifier>{tileset}</ows:Identifier>\n"
        f"      <ows:SupportedCRS>{_CRS[tileset]}</ows:SupportedCRS>\n"
        f"{matrices}"
        "    </TileMatrixSet>\n"
    )


def capabilities(
    base: str, kvp_url: str, layers: Iterable[str] = LAYERS, sets: Iterable[str] = SETS
) -> str:
    """The document for ``layers`` on ``sets``; ``base`` is the server's root URL (no
    trailing slash), ``kvp_url`` the endpoint GetTile and GetCapabilities are sent to."""
    sets = list(sets)
    return (
        _HEAD + "  <ows:ServiceIdentification>\n"
        "    <ows:Title>连云港一张图 天地图兼容底图 (Lianyungang One Map base maps)</ows:Title>\n"
        "    <ows:ServiceType>OGC WMTS</ows:ServiceType>\n"
        "    <ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>\n"
        "  </ows:ServiceIdentification>\n"
        + _operations(kvp_url)
        + "  <Contents>\n"
        + "".join(_layer(base, layer, sets) for layer in layers)
        + "".join(_tile_matrix_set(s) for s in sets)
        + "  </Contents>\n"
        + f'  <ServiceMetadataURL xlink:href="{escape(base)}/wmts/1.0.0/WMTSCapabilities.xml"/>\n'
        + "</Capabilities>\n"
    )
