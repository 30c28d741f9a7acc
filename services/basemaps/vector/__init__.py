"""The vector base map and its labels (``vec``, ``cva``, ``cia``), rendered with Mapnik from
PostGIS; the styles are data in config/basemap/ (docs/basemap-styles.md)."""

from services.basemaps.vector.renderer import VECTOR_LAYERS, VectorRenderer, vector_renderers

__all__ = ["VECTOR_LAYERS", "VectorRenderer", "vector_renderers"]
