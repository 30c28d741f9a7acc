"""Bench only, run in MapProxy's own virtualenv: MapProxy's WSGI app for the configuration
``MAPPROXY_CONFIG``, made an ASGI app by a2wsgi so the same uvicorn launcher (and the same
number of workers) serves it as every other server of ``bench basemap``.
"""

import os

from a2wsgi import WSGIMiddleware
from mapproxy.wsgiapp import make_wsgi_app

app = WSGIMiddleware(make_wsgi_app(os.environ["MAPPROXY_CONFIG"]))  # type: ignore[arg-type]
