-- Statement shapes of the vector tiles (filled by services/ogcapi/tiles.py with quoted
-- identifiers, constants and %(lN_x)s placeholders; nothing from the client is ever in this
-- text: the tile's bounds, the tolerance and the limit are bound values).

-- name: layer
-- The features of one layer meeting the tile, largest first, at most {limit}, with the number
-- matched before the limit; the envelope is in the storage SRID (the GiST index answers).
-- The geometry is simplified in storage units, then (Web Mercator) transformed, then clipped
-- and quantised by ST_AsMVTGeom (NULL when it collapses below a tile unit).
{p}rows AS MATERIALIZED (
    SELECT {names}ST_AsMVTGeom({shape}, {bounds}, {extent}, {buffer}, true) AS geom, s.matched
    FROM (
        SELECT {columns}{geom} AS geom, count(*) OVER () AS matched
        FROM {table} AS t
        WHERE {where}
        ORDER BY ST_Area({geom}) DESC, {key}
        LIMIT {limit}
    ) AS s
)

-- name: mvt
(SELECT ST_AsMVT(f, {name}, {extent}, 'geom', {id_name})
 FROM (SELECT {kept} FROM {p}rows WHERE geom IS NOT NULL) AS f)

-- name: matched
(SELECT coalesce(max(matched), 0) FROM {p}rows)

-- name: sent
(SELECT count(*) FROM {p}rows WHERE geom IS NOT NULL)

-- name: tile
-- The tile (NULL when empty: every layer's MVT concatenated), per layer the features matched
-- and sent, and the stamps of the tables.
WITH {layers}
SELECT nullif({tiles}, ''::bytea), ARRAY[{matched}]::bigint[], ARRAY[{sent}]::bigint[], {stamps}

-- name: stamps
(SELECT array_agg(serial ORDER BY table_name) FROM counts.stamps
 WHERE table_name = ANY(%(stamp_tables)s)),
(SELECT max(changed_at) FROM counts.stamps WHERE table_name = ANY(%(stamp_tables)s))
