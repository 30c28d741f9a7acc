-- Statement shapes of the feature routes (filled by services/ogcapi/feature_sql.py with quoted
-- identifiers and %(pN)s placeholders; nothing from the client is ever in this text).

-- name: items
-- page: the rows of the page (one more than the limit: is there a next page?), numbered in
-- sort order; features are built only for the rows returned.
WITH page AS MATERIALIZED (
    SELECT s.*, row_number() OVER () AS rn
    FROM (
        SELECT {columns}
        FROM {table} AS {alias}
        WHERE {where}
        ORDER BY {order}
        LIMIT {fetch} OFFSET {offset}
    ) AS s
)
SELECT
    (SELECT string_agg({feature}, ',' ORDER BY {alias}.rn {direction})
     FROM page AS {alias} WHERE {alias}.rn <= {limit}) AS features,
    (SELECT count(*) FROM page) AS fetched,
    (SELECT json_build_array({keys})::text FROM page AS {alias} WHERE {alias}.rn = 1) AS first_key,
    (SELECT json_build_array({keys})::text FROM page AS {alias} WHERE {alias}.rn <= {limit}
     ORDER BY {alias}.rn DESC LIMIT 1) AS last_key,
    {matched} AS matched

-- name: counter
(SELECT coalesce(sum(n), 0)::bigint FROM counts.rows WHERE table_name = {table} AND part = {part})

-- name: count
(SELECT count(*) FROM (SELECT 1 FROM {table} AS {alias} WHERE {where} LIMIT {cap}) AS c)

-- name: item
SELECT {feature}, {version} AS version, {modified} AS modified
FROM {table} AS {alias} WHERE {where}
