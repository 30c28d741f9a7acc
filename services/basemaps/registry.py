"""Which renderer draws which layer: built once from the settings by ``create_app``.

A layer missing here is served as blank tiles (transparent PNG, white JPEG for ``img``)
until its renderer is registered.
"""

from __future__ import annotations

from services.basemaps.jobs import Renderer
from services.basemaps.terrain import TerrainRenderer
from services.settings import BasemapSettings


def renderers(settings: BasemapSettings) -> dict[str, Renderer]:
    """Layer name → its renderer (``vec``, ``cva``, ``img`` and ``cia`` join as they are built)."""
    return {"ter": TerrainRenderer(settings)}
