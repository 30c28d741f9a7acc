"""The JSON schemas of the OpenAPI document of ``/ogc``: geometries, the metadata documents,
and each collection's Feature and FeatureCollection (its own properties, typed and nullable
as the table says). All live in ``components``, so no ``$ref`` leaves the document.
"""

from __future__ import annotations

from typing import Any, Final

from services.ogcapi.crs import served, storage_crs
from services.ogcapi.specs import CollectionSpec, Prop

Json = dict[str, Any]


def ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def schema_ref(name: str) -> Json:
    return ref("schemas", name)


def array(items: Json, **extra: Any) -> Json:
    return {"type": "array", "items": items, **extra}


# --- schemas ----------------------------------------------------------------------------------

_POSITION: Final = array({"type": "number"}, minItems=2, maxItems=3)
_RING: Final = array(_POSITION, minItems=4)
_GEOMETRY_COORDINATES: Final = {
    "Point": _POSITION,
    "MultiPoint": array(_POSITION),
    "LineString": array(_POSITION, minItems=2),
    "MultiLineString": array(array(_POSITION, minItems=2)),
    "Polygon": array(_RING),
    "MultiPolygon": array(array(_RING)),
}
_BBOX: Final = array({"type": "number"}, minItems=4, maxItems=6)


def _geometry_schemas() -> dict[str, Json]:
    """GeoJSON geometries (RFC 7946 §3.1), one schema per type and their union."""
    found: dict[str, Json] = {}
    for kind, coordinates in _GEOMETRY_COORDINATES.items():
        found[kind] = {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"type": "string", "enum": [kind]},
                "coordinates": coordinates,
                "bbox": _BBOX,
            },
        }
    found["GeometryCollection"] = {
        "type": "object",
        "required": ["type", "geometries"],
        "properties": {
            "type": {"type": "string", "enum": ["GeometryCollection"]},
            "geometries": array(schema_ref("Geometry")),
            "bbox": _BBOX,
        },
    }
    found["Geometry"] = {"oneOf": [schema_ref(kind) for kind in [*_GEOMETRY_COORDINATES,
                                                              "GeometryCollection"]]}  # fmt: skip
    return found


_NULL: Final = {"type": "object", "nullable": True, "enum": [None]}
"""Only ``null`` (OpenAPI 3.0 has no null type: ``nullable`` on an enum of null)."""

_LINK: Final = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
        "hreflang": {"type": "string"},
        "length": {"type": "integer"},
    },
}
_LINKS: Final = array(schema_ref("Link"))
_DATETIME_OR_NULL: Final = {"type": "string", "format": "date-time", "nullable": True}


def static_schemas() -> dict[str, Json]:
    """The schemas every document holds (made per call: the CRS lists come from
    :func:`~services.ogcapi.crs.served`, built on first use)."""
    return {
        "Exception": {
            "type": "object",
            "description": "OGC API exception: what went wrong, and why.",
            "required": ["code", "type", "description"],
            "properties": {
                "code": {"type": "string"},
                "type": {"type": "string"},
                "description": {"type": "string"},
            },
        },
        "Link": _LINK,
        "LandingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": _LINKS,
            },
        },
        "ConfClasses": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": array({"type": "string"})},
        },
        "Extent": {
            "type": "object",
            "properties": {
                "spatial": {
                    "type": "object",
                    "required": ["bbox"],
                    "properties": {"bbox": array(_BBOX, minItems=1), "crs": {"type": "string"}},
                },
                "temporal": {
                    "type": "object",
                    "required": ["interval"],
                    "properties": {
                        "interval": array(
                            array(_DATETIME_OR_NULL, minItems=2, maxItems=2), minItems=1
                        ),
                        "trs": {"type": "string"},
                    },
                },
            },
        },
        "Collection": {
            "type": "object",
            "required": [
                "id",
                "title",
                "description",
                "keywords",
                "itemType",
                "extent",
                "crs",
                "storageCrs",
                "links",
            ],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "keywords": array({"type": "string"}),
                "itemType": {"type": "string", "enum": ["feature"]},
                "extent": schema_ref("Extent"),
                "crs": array({"type": "string", "enum": [c.uri for c in served()]}, minItems=1),
                "storageCrs": {"type": "string", "enum": [storage_crs().uri]},
                "links": _LINKS,
            },
        },
        "Collections": {
            "type": "object",
            "required": ["collections", "links"],
            "properties": {"collections": array(schema_ref("Collection")), "links": _LINKS},
        },
        "Queryables": {
            "type": "object",
            "description": "A JSON Schema (draft 2020-12) of the names filters, equality "
            "parameters and sortby may use.",
            "required": ["type", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["object"]},
                "title": {"type": "string"},
                "properties": {"type": "object", "additionalProperties": {"type": "object"}},
                "additionalProperties": {"type": "boolean"},
            },
        },
        "OpenAPI": {
            "type": "object",
            "description": "This document.",
            "required": ["openapi", "info", "paths"],
            "properties": {
                "openapi": {"type": "string"},
                "info": {"type": "object"},
                "paths": {"type": "object"},
            },
        },
        "JsonLd": {"type": "object", "description": "The same content as JSON-LD (schema.org)."},
        "Html": {"type": "string", "description": "The same content as an HTML page."},
        **_geometry_schemas(),
    }


def _property_schema(prop: Prop) -> Json:
    schema: Json = {**prop.type.json_schema()}
    if prop.title:
        schema["title"] = prop.title
    if prop.nullable:
        schema["nullable"] = True
    return schema


def feature_schema(spec: CollectionSpec) -> Json:
    """One feature of ``spec`` as our SQL writes it (``properties`` may be a subset)."""
    return {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": spec.key_prop().type.json_schema(),
            "geometry": {"oneOf": [schema_ref("Geometry"), _NULL]},
            "properties": {
                "type": "object",
                "properties": {p.name: _property_schema(p) for p in spec.properties},
                "additionalProperties": False,
            },
            "links": _LINKS,
        },
    }


def feature_collection_schema(spec: CollectionSpec) -> Json:
    """A page of ``spec``'s features; ``numberMatched`` is left out above the count limit."""
    return {
        "type": "object",
        "required": ["type", "features", "numberReturned", "timeStamp", "links"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": array(schema_ref(feature_name(spec))),
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string", "format": "date-time"},
            "links": _LINKS,
        },
    }


def feature_name(spec: CollectionSpec) -> str:
    return f"{spec.id}.Feature"


def features_name(spec: CollectionSpec) -> str:
    return f"{spec.id}.FeatureCollection"
