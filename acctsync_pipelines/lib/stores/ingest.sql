-- Take the records of one input (a file's text, or one API page) into the raw tables.
-- Parameters (named): text (the JSON), list_path (where its records are, e.g. '$.orders[*]'), kind,
-- source_file, observed_at, digest, size_bytes, mtime_ns.
CREATE OR REPLACE TEMP TABLE stores_incoming AS
WITH listed AS (
    SELECT json_extract($text::JSON, $list_path) AS items
),
records AS (
    SELECT unnest(items) AS body, generate_subscripts(items, 1) - 1 AS source_index FROM listed
)
SELECT $kind AS kind,
       CASE $kind WHEN 'remittance_order_ids' THEN body ->> 'remittance_id' ELSE body ->> 'id' END AS record_id,
       left(sha256(body::VARCHAR), 16) AS revision,
       body,
       source_index::INTEGER AS source_index,
       CASE $kind WHEN 'order' THEN list_filter(list_transform(
                [body ->> 'ordered_at']
                || coalesce(json_extract_string(body, '$.deliveries[*].shipped_at'), [])
                || coalesce(json_extract_string(body, '$.deliveries[*].canceled_at'), [])
                || coalesce(json_extract_string(body, '$.transactions[*].paid_at'), []),
                lambda t: TRY_CAST(t AS TIMESTAMPTZ)), lambda t: t IS NOT NULL) END AS event_times
FROM records;

INSERT INTO raw.stores_snapshots
SELECT kind, record_id, revision, body, event_times, list_min(event_times), list_max(event_times), now()
FROM stores_incoming i
WHERE record_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM raw.stores_snapshots s
                  WHERE s.kind = i.kind AND s.record_id = i.record_id AND s.revision = i.revision)
QUALIFY row_number() OVER (PARTITION BY kind, record_id, revision ORDER BY source_index) = 1;

-- The input's earlier sighting of the same record is replaced (a changed file's sightings were
-- removed before its records are taken in).
DELETE FROM raw.stores_sightings
WHERE source_file = $source_file
  AND EXISTS (SELECT 1 FROM stores_incoming i
              WHERE i.kind = raw.stores_sightings.kind AND i.record_id = raw.stores_sightings.record_id);

-- A record listed twice in one input: the later position wins.
INSERT INTO raw.stores_sightings
SELECT $source_file, kind, record_id, revision, source_index, $observed_at
FROM stores_incoming
WHERE record_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY kind, record_id ORDER BY source_index DESC) = 1;

INSERT OR REPLACE INTO raw.stores_inputs
SELECT $source_file, $digest, $size_bytes, $mtime_ns,
       (SELECT count(*) FROM raw.stores_sightings WHERE source_file = $source_file), $observed_at, now();
