"""The ``img`` layer: the city's imagery COGs warped into Tianditu's tiles, as JPEG."""

from services.basemaps.imagery.renderer import ImageryRenderer

__all__ = ["ImageryRenderer"]
