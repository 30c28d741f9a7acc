"""Bench only: this platform's app (``services.app.create_app``) with the cached tiles'
bytes also mounted as static files, so one server answers both the WMTS route and the same
bytes from disk (``bench basemap``). The mount is appended after every route of the app, so
the WMTS route is matched exactly as in ``services.asgi:app``.

``ONEMAP_BENCH_STATIC_DIR``: the directory of ``{layer}/{z}/{row}/{col}.{ext}`` files.
"""

import os

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from services.app import create_app

STATIC_PREFIX = "/bench-static"

app = create_app()
app.router.routes.append(
    Mount(STATIC_PREFIX, app=StaticFiles(directory=os.environ["ONEMAP_BENCH_STATIC_DIR"]))
)
