"""OGC API – Features (Parts 1, 2 and 3) at ``/ogc``: pygeoapi mounted with our registry,
routes and provider; GeoJSON built inside PostGIS.

- :mod:`.sources` builds the collection registry from the database (add a source to
  publish a new kind of collection); :mod:`.specs` is what a collection is.
- :mod:`.params`, :mod:`.cql`, :mod:`.crs`, :mod:`.values` read and check requests;
  :mod:`.sql` writes the statements; :mod:`.pages` does keyset paging.
- :mod:`.features`, :mod:`.metadata`, :mod:`.routes` answer HTTP (features on the event
  loop, through the async connections of :mod:`.pool`); :mod:`.provider` is the
  pygeoapi plugin; :mod:`.config` generates pygeoapi's configuration and OpenAPI document;
  :mod:`.service` holds one process's state.
"""

from services.ogcapi.routes import ogc_routes
from services.ogcapi.service import OgcService, refresh
from services.ogcapi.sources import SOURCES, Registry, build_registry
from services.ogcapi.specs import CollectionSpec, Counter, Prop, PropType

__all__ = [
    "SOURCES",
    "CollectionSpec",
    "Counter",
    "OgcService",
    "Prop",
    "PropType",
    "Registry",
    "build_registry",
    "ogc_routes",
    "refresh",
]
