"""The app's error mapping (``/health`` is tested in test_health.py)."""

from __future__ import annotations


def test_domain_errors_map_to_their_http_status() -> None:
    import asyncio

    from starlette.requests import Request

    from grid.errors import ConflictError, GridError, NotAuthorisedError, NotFoundError
    from services.errors import domain_error

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    expected = {NotFoundError: 404, NotAuthorisedError: 403, ConflictError: 409, GridError: 400}
    for kind, status in expected.items():
        response = asyncio.run(domain_error(request, kind("what went wrong")))
        assert response.status_code == status
        assert b'"description":"what went wrong"' in response.body
