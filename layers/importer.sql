-- The import pipeline (layers/importer.py): a new version row, then features, repairs and
-- rejects by COPY into the version, then its feature count. All in the caller's transaction.

-- name: current
SELECT id, version, source_sha256 FROM plans.layer_versions
WHERE layer_id = :layer ORDER BY version DESC LIMIT 1

-- name: new_version
INSERT INTO plans.layer_versions (layer_id, version, snapshot_date, source_name, source_sha256,
    source_crs, source_encoding, feature_count, imported_by)
SELECT CAST(:layer AS text), coalesce(max(version), 0) + 1, CAST(:snapshot_date AS date),
    :source_name, :sha256, :crs, :encoding, 0, :imported_by
FROM plans.layer_versions WHERE layer_id = CAST(:layer AS text)
RETURNING id, version

-- name: finish
UPDATE plans.layer_versions SET feature_count = :n WHERE id = :id
