"""Mapnik, imported without changing the process for the rest of the platform.

The ``mapnik`` wheel's ``__init__`` sets ``GDAL_DATA`` and ``PROJ_LIB`` in ``os.environ`` to
folders of its own (its PROJ database is built into its library; the folder it names holds
no ``proj.db``). Left set, they would point fiona's and rasterio's GDAL and PROJ at them, and
every CRS they read afterwards would be None. :func:`mapnik` imports the module once and puts
those two variables back as they were (``ICU_DATA``, which only Mapnik reads, stays).
Always import Mapnik through it.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Final

RESTORED: Final = ("GDAL_DATA", "PROJ_LIB", "PROJ_DATA")


@cache
def mapnik() -> Any:
    """The ``mapnik`` module, imported with the environment kept as it was."""
    saved = {key: os.environ.get(key) for key in RESTORED}
    try:
        import mapnik as module
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return module


@cache
def register_fonts(font_dirs: tuple[Path, ...]) -> frozenset[str]:
    """Register the fonts under ``font_dirs`` with Mapnik, once per process; the face names
    Mapnik then knows."""
    module = mapnik()
    for directory in font_dirs:
        if directory.is_dir():
            module.register_fonts(str(directory))
    return frozenset(module.FontEngine.face_names())
