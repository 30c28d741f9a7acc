"""API keys and roles: who calls, decided once per request by the gate, asked by routes.

Roles: ``public`` (no key), ``planner``, ``grid_worker`` (bound to a worker, hence to that
worker's cells) and ``admin``. Keys are made with ``onemap keys create`` and stored only as
a keyed hash (``auth.api_keys``).
"""

from services.auth.gate import ApiKeyGate, KeyResolver
from services.auth.keys import PUBLIC, Principal
from services.auth.routes import auth_routes, principal_of, require

__all__ = [
    "PUBLIC",
    "ApiKeyGate",
    "KeyResolver",
    "Principal",
    "auth_routes",
    "principal_of",
    "require",
]
