-- Take the records of one input (a file's text, or one API page) into the raw tables.
-- Parameters (named): text (the JSON), list_path (where its records are, e.g. '$.orders[*]'), kind,
-- source_file, observed_at, digest, size_bytes, mtime_ns.
CREATE OR REPLACE TEMP TABLE stores_incoming AS
WITH listed AS (
    SELECT json_extract($text, $list_path) AS items  -- the text as given: no ::JSON copy to parse again
),
records AS (
    SELECT unnest(items) AS body, generate_subscripts(items, 1) - 1 AS source_index FROM listed
),
-- Each record is parsed once for its identity and event fields (a list of paths is one parse); the
-- event lists are then read from the small deliveries and transactions values.
fields AS (
    SELECT body, source_index,
           json_extract_string(body, ['$.id', '$.remittance_id', '$.number', '$.ordered_at']) AS f,
           CASE $kind WHEN 'order' THEN json_extract(body, ['$.deliveries', '$.transactions']) END AS parts
    FROM records
)
SELECT $kind AS kind,
       CASE $kind WHEN 'remittance_order_ids' THEN f[2] ELSE f[1] END AS record_id,
       left(sha256(body::VARCHAR), 16) AS revision,
       body,
       source_index::INTEGER AS source_index,
       f[3] AS number,
       f[4] AS ordered_at,
       CASE $kind WHEN 'order' THEN list_filter(list_transform(
                [f[4]]
                || coalesce(json_extract_string(parts[1], '$[*].shipped_at'), [])
                || coalesce(json_extract_string(parts[1], '$[*].canceled_at'), [])
                || coalesce(json_extract_string(parts[2], '$[*].paid_at'), []),
                lambda t: TRY_CAST(t AS TIMESTAMPTZ)), lambda t: t IS NOT NULL) END AS event_times
FROM fields;

-- A version already held stays as it is (looked up in the primary key's index, not by a scan of every version).
INSERT OR IGNORE INTO raw.stores_snapshots
SELECT kind, record_id, revision, body, event_times, list_min(event_times), list_max(event_times), now()
FROM stores_incoming i
WHERE record_id IS NOT NULL
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
