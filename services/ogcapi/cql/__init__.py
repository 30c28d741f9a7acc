"""CQL2 (text and JSON) → a parameterised SQL condition, checked against the queryables.

Reading. cql2-rs (the ``cql2`` package) reads cql2-text as the standard writes it: every
example of OGC 21-065 parses (tests/data/cql2/), where pygeofilter 0.4's text grammar refused
valid filters such as ``NOT (a = 1 OR a = 2)``. It turns text into cql2-json; a cql2-json
filter is read with :mod:`json` (which keeps integers exact) and then checked by cql2-rs too.
This module walks that one JSON tree itself into pygeofilter's AST, the form pygeoapi hands
our provider, so one emitter serves both. It walks it itself rather than through
pygeofilter's cql2_json parser, which fails on 34 of the 109 examples (functions, intervals,
``GeometryCollection``, ``^``, ``%``, ``div``, ``a_containedBy``) with errors that do not say
what is unsupported. Measured on 150 OR'd ``S_INTERSECTS(geometry, BBOX(...))`` (9 231
characters, median of 9): the nesting scan 1.6 ms, cql2-rs text → JSON 1.8 ms, the walk
0.7 ms, 4.6 ms in all against 17.9 ms for pygeofilter's lark parser; emitting the SQL 4.9 ms.

Cost. Such a filter answered in 1.3 s, of which the database executes about 10 ms: the rest
is PostgreSQL's JIT compiling the plan, whose estimate (PostGIS prices each ST_Intersects
high) passes ``jit_above_cost``; with ``jit = off``, which every OGC session now sets
(``service.session_options``), the request takes 50 ms. The OR'd terms
are not merged into one ST_Intersects over a collected geometry: for overlapping boxes the
collection is not a valid geometry (GEOS 3.11 raises a TopologyException on it), a union
moves boundaries, and a merged predicate still costs 58 ms with JIT on against 10 ms without.

Numbers. cql2-rs reads every number as a float (``2`` → ``2.0``): integral values up to
2**53 become integers again, so ``floors = 2`` binds an integer (and can use an index on
``floors``); a larger integer literal in cql2-text would already be rounded (2**53 + 1 →
2**53), so it is refused with a pointer to cql2-json, which keeps it exact. Other numbers
stay floats: ``floors = 2.5`` compares numerically, as before.

Limits (:class:`FilterLimits`, from ``OgcSettings``): characters; terms, predicates and
logical operators counted together, a chain of AND (or of OR) counting once, so 150 OR'd
predicates are 151 terms; vertices of all geometry literals, a BBOX counting 4. Nesting is
bounded too, on the text before cql2-rs sees it: its recursive parser overflows the thread's
stack (the process dies, no exception) at about a thousand levels.

Emitting. Column names come from the collection's spec (quoted), every literal is bound.
Supported: basic CQL2 (comparisons, AND/OR/NOT, IS NULL, boolean literals), LIKE / BETWEEN /
IN, property-to-property comparisons, and the spatial functions S_INTERSECTS, S_WITHIN,
S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES, S_CROSSES, S_OVERLAPS against a geometry or
BBOX literal. Literal geometries are read in ``filter-crs`` (its axis order), moved to
storage in Python, and compared with the stored column by a PostGIS predicate that uses the
GiST index. Anything else (functions, CASEI/ACCENTI, arithmetic, temporal and array
operators) is a 400 naming what is not supported.
"""

from __future__ import annotations

from services.ogcapi.cql.emitter import to_sql
from services.ogcapi.cql.limits import LANGUAGES, FilterLimits
from services.ogcapi.cql.nodes import Unsupported
from services.ogcapi.cql.reader import parse

__all__ = ["LANGUAGES", "FilterLimits", "Unsupported", "parse", "to_sql"]
