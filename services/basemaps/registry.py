"""Which renderer draws which layer: built once from the settings, in each process that
renders (a server's render workers, ``onemap basemap seed``'s workers).

``vec``, ``cva`` and ``cia`` are Mapnik maps reading PostGIS as the server's role; ``img``
warps the imagery COG; ``ter`` shades the DEM. A layer whose source is missing (no imagery
configured, or not a file) has no renderer and is served as blank tiles.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from services.basemaps.imagery.renderer import ImageryRenderer
from services.basemaps.jobs import Renderer
from services.basemaps.terrain import TerrainRenderer
from services.basemaps.vector.renderer import vector_renderers
from services.settings import Settings


def renderers(settings: Settings) -> dict[str, Renderer]:
    """Layer name → its renderer. Relative raster paths are resolved now, against the
    working directory of the process that builds them."""
    styles = settings.basemap.styles
    found: dict[str, Renderer] = dict(
        vector_renderers(settings.database, styles_dir=Path(styles).absolute())
        if styles is not None
        else vector_renderers(settings.database)
    )
    imagery = settings.basemap_imagery
    if imagery.path is not None and Path(imagery.path).is_file():
        found["img"] = ImageryRenderer(
            Path(imagery.path).absolute(),
            quality=imagery.jpeg_quality,
            resampling=imagery.resampling,
        )
    terrain = settings.basemap.model_copy(update={"dem": Path(settings.basemap.dem).absolute()})
    found["ter"] = TerrainRenderer(terrain)
    return found


def absolute(settings: Settings) -> Settings:
    """``settings`` with the raster paths made absolute, for processes started elsewhere."""
    imagery = settings.basemap_imagery
    if imagery.path is not None:
        imagery = imagery.model_copy(update={"path": Path(imagery.path).absolute()})
    basemap = settings.basemap.model_copy(update={"dem": Path(settings.basemap.dem).absolute()})
    return replace(settings, basemap=basemap, basemap_imagery=imagery)
