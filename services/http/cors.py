"""Cross-origin reads by configuration (Starlette's CORSMiddleware), with refused preflights
answered like every other error: an OGC body and 403, not plain text."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from services.errors import exception_body


class OgcCORSMiddleware(CORSMiddleware):
    """CORS whose refusals name what was refused in an OGC exception body."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        description = bytes(response.body).decode("utf-8", "replace")
        body = json.dumps(exception_body("Forbidden", f"{description}: not allowed here"))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.pop("content-type", None)
        return Response(body, 403, headers=headers, media_type="application/json")
