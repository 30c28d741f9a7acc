"""The app's error mapping (``/health`` is tested in test_health.py)."""

from __future__ import annotations

import json


def test_domain_errors_map_to_their_http_status() -> None:
    import asyncio

    from starlette.requests import Request

    from grid.errors import ConflictError, GridError, NotAuthorisedError, NotFoundError
    from services.errors import domain_error

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    expected = {
        NotFoundError: (404, "NotFound"),
        NotAuthorisedError: (403, "Forbidden"),
        ConflictError: (409, "Conflict"),
        GridError: (400, "InvalidParameterValue"),
    }
    for kind, (status, code) in expected.items():
        response = asyncio.run(domain_error(request, kind("what went wrong")))
        assert response.status_code == status
        body = json.loads(bytes(response.body))
        assert body == {"code": code, "type": code, "description": "what went wrong"}
