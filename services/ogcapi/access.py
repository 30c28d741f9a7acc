"""Who sees and who changes what: the one place every route of the service asks.

* Anonymous callers see the public collections.
* Any key (planner, grid worker, admin) also sees the keyed ones (houses, households,
  persons), masked; a grid worker sees only the rows in the cells assigned to them.
* A collection a caller may not see does not exist for them: it is missing from
  ``/collections`` and from their OpenAPI document, and its routes answer 404.
* Grid workers edit buildings, houses, households and persons (grid/edits.py keeps them
  inside their cells); admins edit every editable collection, cells included; planners
  edit nothing unless ``ONEMAP_AUTH_PLANNERS_EDIT`` is set, but may revert a row.
* Only an admin may read unmasked personal data, with a stated reason (reveal.py).

Routes never look at a role themselves: they ask :func:`scoped`, :func:`visible`,
:func:`edit_refusal` and friends, so a rule changes here and everywhere at once.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from services.auth.keys import Principal
from services.ogcapi.errors import NotFoundError
from services.ogcapi.sources import Registry
from services.ogcapi.specs import Audience, CollectionSpec
from services.settings import AuthSettings

WORKER_TABLES: Final = frozenset({"buildings", "houses", "households", "persons"})
"""What a grid worker may write (inside their cells)."""
READ_METHODS: Final = ("GET", "HEAD", "OPTIONS")
SPLIT_AND_MERGED: Final = frozenset({"cells"})
"""Made and removed only by splitting and merging (grid/cells.py keeps the tiling): no
POST or DELETE; their boundary and attributes are changed by PUT and PATCH."""


def sees(caller: Principal, spec: CollectionSpec) -> bool:
    """Whether the collection exists for ``caller``."""
    return spec.audience is Audience.PUBLIC or caller.role != "public"


def scoped(caller: Principal, spec: CollectionSpec) -> CollectionSpec:
    """The collection as ``caller`` sees it (a grid worker's: only rows of their cells);
    404 when it does not exist for them."""
    if not sees(caller, spec):
        raise NotFoundError(f"no collection {spec.id!r}")
    if caller.role == "grid_worker" and spec.worker_column is not None:
        condition = (spec.worker_column, caller.worker_id if caller.worker_id is not None else -1)
        return spec.model_copy(update={"fixed": (*spec.fixed, condition), "counter": None})
    return spec


def visible(caller: Principal, registry: Registry) -> Registry:
    """The registry as ``caller`` sees it (the same object for anonymous callers when
    nothing is hidden from them)."""
    specs = {k: scoped(caller, s) for k, s in registry.specs.items() if sees(caller, s)}
    return Registry(MappingProxyType(specs), registry.built_at)


def edit_refusal(caller: Principal, spec: CollectionSpec, settings: AuthSettings) -> str | None:
    """Why ``caller`` may not write ``spec`` (None: they may, within grid/edits' rules)."""
    if spec.edit_table is None:
        return f"{spec.id} is read-only"
    if caller.role == "admin":
        return None
    if caller.role == "grid_worker":
        if spec.edit_table in WORKER_TABLES:
            return None
        return f"grid workers may not change {spec.id}: an admin edits them"
    if caller.role == "planner":
        if settings.planners_edit:
            return None
        return "planners read the grid but do not edit it (ONEMAP_AUTH_PLANNERS_EDIT)"
    return "this needs an API key"


def may_revert(caller: Principal, spec: CollectionSpec) -> bool:
    """Reverting a row to an earlier version: planners and admins."""
    return spec.edit_table is not None and caller.role in ("planner", "admin")


def may_reveal(caller: Principal) -> bool:
    """Reading unmasked personal fields (with a reason): admins only."""
    return caller.role == "admin"


def allowed_methods(
    caller: Principal, spec: CollectionSpec, settings: AuthSettings, *, item: bool
) -> tuple[str, ...]:
    """The methods ``caller`` may use on the items (``item=False``) or one item."""
    if edit_refusal(caller, spec, settings) is not None:
        return READ_METHODS
    return methods_taken(spec, item=item)


def methods_taken(spec: CollectionSpec, *, item: bool) -> tuple[str, ...]:
    """The methods the items (``item=False``) or one item take from anybody with the right:
    any other is a 405 whoever asks."""
    if spec.edit_table is None:
        return READ_METHODS
    made = spec.edit_table not in SPLIT_AND_MERGED
    writes = ("PUT", "PATCH", *(("DELETE",) if made else ())) if item else ("POST",) * made
    return (*READ_METHODS, *writes)
