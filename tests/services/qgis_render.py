"""Run by Debian's ``/usr/bin/python3`` (QGIS 3.22's Python, not the project's): load one
layer in QGIS the way a user adds it, render it over a box, and print what came out as JSON.

Usage: ``python3 qgis_render.py KIND URI CRS WEST SOUTH EAST NORTH OUT.png``, KIND ``wms``
(a WMTS layer) or ``vectortile`` (an XYZ vector tile layer).
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def main(kind, uri, crs, west, south, east, north, out):
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    layer = (
        QgsRasterLayer(uri, "layer", "wms") if kind == "wms" else QgsVectorTileLayer(uri, "layer")
    )
    found = {"valid": layer.isValid()}
    if layer.isValid():
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(QgsCoordinateReferenceSystem(crs))
        settings.setExtent(QgsRectangle(float(west), float(south), float(east), float(north)))
        settings.setOutputSize(QSize(400, 300))
        settings.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        image = job.renderedImage()
        image.save(out)
        colours = {image.pixel(x, y) for x in range(0, 400, 4) for y in range(0, 300, 4)}
        white = QColor(255, 255, 255).rgb()
        drawn = sum(
            1 for x in range(0, 400, 4) for y in range(0, 300, 4) if image.pixel(x, y) != white
        )
        found.update(
            errors=[e.message for e in job.errors()], colours=len(colours), drawn=drawn / 7500
        )
    print(json.dumps(found), flush=True)
    os._exit(0)  # QGIS 3.22 may crash while tearing down offscreen: the answer is out


if __name__ == "__main__":
    main(*sys.argv[1:])
