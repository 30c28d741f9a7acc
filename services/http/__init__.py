"""What every HTTP answer of the platform obeys, whatever the route: accepted hosts, request
size limits, error bodies, CORS, compression and cache validators.

``middleware(settings)`` is the stack ``create_app`` installs; ``error_handlers`` renders
Starlette's own 404/405 and any unexpected failure as OGC exception bodies;
``uvicorn_options`` makes the server itself answer malformed and oversized requests the same
way instead of resetting the connection.
"""

from services.http.caching import Validators, conditional, validators_for
from services.http.errors import error_handlers, render_error
from services.http.protocol import uvicorn_options
from services.http.stack import middleware

__all__ = [
    "Validators",
    "conditional",
    "error_handlers",
    "middleware",
    "render_error",
    "uvicorn_options",
    "validators_for",
]
