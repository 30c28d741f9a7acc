-- Storing an import's features, rejects and repairs (layers/feature_loader.py).

-- name: copy_features
COPY plans.features (layer_version_id, source_fid, source_code, code_2023, category,
    properties, geom) FROM STDIN

-- name: copy_rejects
COPY plans.rejects (layer_version_id, source_fid, source_code, reason, properties, geom)
FROM STDIN

-- name: copy_repairs
COPY plans.repairs (layer_version_id, source_fid, notes, stage) FROM STDIN

-- name: unknown_2023
SELECT DISTINCT c FROM unnest(CAST(:codes AS text[])) AS c
WHERE c NOT IN (SELECT code FROM plans.landuse_codes)
