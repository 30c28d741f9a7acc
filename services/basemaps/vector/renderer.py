"""``vec``, ``cva`` and ``cia`` tiles rendered with Mapnik, reading PostGIS directly.

A :class:`VectorRenderer` is one layer's :class:`~services.basemaps.jobs.Renderer`. Nothing is
built when it is made: the first tile of a set loads that set's map (style read, datasource
connected) for the calling thread, and later tiles reuse it, so a worker process loads each
style once per thread. A tile that does not meet the extent of the city's administrative
areas (queried once per renderer) is None without drawing anything; so is one whose drawing
is fully transparent (no data in it). Tiles are 8-bit PNG with transparency.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import URL

from gis.settings import DatabaseSettings
from services.basemaps.jobs import TileJob, TileSet
from services.basemaps.vector.lib import mapnik, register_fonts
from services.basemaps.vector.style import STYLES_DIR, Connection, map_xml

VECTOR_LAYERS: Final = ("vec", "cva", "cia")
Extent = tuple[float, float, float, float]
"""(west, south, east, north) in lon/lat degrees."""
FONT_DIRS: Final = (Path("/usr/share/fonts/opentype/noto"),)
"""Where Debian's fonts-noto-cjk puts Noto Sans CJK (the styles name its faces)."""
PNG_FORMAT: Final = "png8"
EXTENT_SQL: Final = (
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
    " FROM (SELECT ST_Extent(geom) AS e FROM grid.admin_areas) AS s"
)


def _meets(a: Extent, b: Extent) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


class VectorRenderer:
    """Renders ``layer`` (vec, cva or cia) from the database at ``url``."""

    def __init__(
        self,
        layer: str,
        url: URL | str,
        *,
        styles_dir: Path = STYLES_DIR,
        font_dirs: Iterable[Path] = FONT_DIRS,
    ) -> None:
        if layer not in VECTOR_LAYERS:
            raise ValueError(f"not a vector layer: {layer!r} (expected one of {VECTOR_LAYERS})")
        self.layer = layer
        self.connection = Connection.from_url(url)
        self.styles_dir = styles_dir
        self.font_dirs = tuple(font_dirs)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._extent: Extent | None = None
        self._extent_known = False

    def __getstate__(self) -> dict[str, Any]:
        """Picklable for a process pool: the loaded maps and the lock stay behind (a
        worker loads its own); the extent travels if known."""
        state = dict(self.__dict__)
        del state["_local"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VectorRenderer({self.layer!r}, {self.connection!r})"

    def data_extent(self) -> Extent | None:
        """The extent of the city's administrative areas (lon/lat), None without any; read
        once and kept (a restart sees an extent that has grown)."""
        with self._lock:
            if not self._extent_known:
                import psycopg

                with psycopg.connect(self.connection.conninfo(), connect_timeout=10) as conn:
                    row = conn.execute(EXTENT_SQL).fetchone()
                if row is not None and row[0] is not None:
                    self._extent = (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
                self._extent_known = True
            return self._extent

    def _map(self, tileset: TileSet, size: int) -> Any:
        maps: dict[tuple[str, int], Any] = getattr(self._local, "maps", None) or {}
        self._local.maps = maps
        key = (tileset, size)
        if key not in maps:
            register_fonts(self.font_dirs)
            made = mapnik().Map(size, size)
            xml = map_xml(self.layer, tileset, self.connection, self.styles_dir)
            mapnik().load_map_from_string(made, xml, True, str(self.styles_dir))
            maps[key] = made
        return maps[key]

    def render(self, job: TileJob) -> bytes | None:
        if job.layer != self.layer:
            raise ValueError(f"a {job.layer} tile given to the {self.layer} renderer")
        extent = self.data_extent()
        if extent is None or not _meets(job.geographic_bounds, extent):
            return None
        module = mapnik()
        tile_map = self._map(job.tileset, job.size)
        tile_map.zoom_to_box(module.Box2d(*job.bounds))
        image = module.Image(job.size, job.size)
        module.render(tile_map, image)
        if image.is_solid() and image.get_pixel(0, 0) == 0:
            return None  # fully transparent: none of the city's data here
        data: bytes = image.to_string(PNG_FORMAT)
        return data


def vector_renderers(
    settings: DatabaseSettings, *, styles_dir: Path = STYLES_DIR
) -> Mapping[str, VectorRenderer]:
    """The three vector layers' renderers, connected as the server connects (its login role,
    ``ONEMAP_APP_DATABASE_URL``, or the local cluster's ``onemap_server``)."""
    from gis.engine import app_database_url

    url = app_database_url(settings)
    return {layer: VectorRenderer(layer, url, styles_dir=styles_dir) for layer in VECTOR_LAYERS}
