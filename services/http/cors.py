"""Cross-origin reads by configuration (Starlette's CORSMiddleware), with refused preflights
answered like every other error: an OGC body and 403, not plain text."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from services.http.errors import render_error


class OgcCORSMiddleware(CORSMiddleware):
    """CORS whose refusals name what was refused in an OGC exception body."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        description = bytes(response.body).decode("utf-8", "replace")
        headers = {
            k: v for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-type")
        }  # fmt: skip
        return render_error(403, f"{description}: not allowed here", headers=headers)
