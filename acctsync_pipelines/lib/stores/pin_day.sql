-- Pin the records each business day of a window is booked from: the newest version of every order with
-- any event on the day (ordered, shipped, cancelled, paid or refunded; normalize decides what is booked),
-- and of every remittance transferred on it ("newest" as in the view raw.stores_latest, schema.sql).
-- Parameters (named): days, first_day, last_day (one day is a window of one), tz (a day's bounds are its
-- midnights in the business timezone).
DELETE FROM raw.stores_day_records
WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);

INSERT INTO raw.stores_day_records
WITH window_days AS (
    SELECT day, timezone($tz, day::TIMESTAMP) AS day_start, timezone($tz, (day + 1)::TIMESTAMP) AS day_end
    FROM (SELECT unnest($days::DATE[]) AS day)
),
span AS (
    SELECT min(day_start) AS window_start, max(day_end) AS window_end FROM window_days
),
-- Records with a version in the window (an order's event span overlaps it, a remittance is transferred on
-- one of its days): the newest version is then found among their sightings only, not among every record's.
candidates AS (
    SELECT DISTINCT kind, record_id
    FROM raw.stores_snapshots, span
    WHERE (kind = 'order' AND first_event_at < window_end AND last_event_at >= window_start)
       OR (kind = 'remittance' AND TRY_CAST(body ->> 'transferred_date' AS DATE) BETWEEN $first_day AND $last_day)
),
latest AS (
    SELECT s.kind, s.record_id, s.revision, s.source_file, s.source_index, r.body, r.event_times,
           r.first_event_at, r.last_event_at
    FROM raw.stores_sightings s
    JOIN candidates c USING (kind, record_id)
    JOIN raw.stores_snapshots r USING (kind, record_id, revision)
    QUALIFY row_number() OVER (PARTITION BY s.kind, s.record_id
                               ORDER BY r.last_event_at DESC NULLS LAST, s.observed_at DESC, s.source_file DESC) = 1
)
SELECT w.day, l.kind, l.record_id, l.revision, l.source_file, l.source_index
FROM latest l
JOIN window_days w ON l.first_event_at < w.day_end AND l.last_event_at >= w.day_start
WHERE l.kind = 'order' AND len(list_filter(l.event_times, lambda t: t >= w.day_start AND t < w.day_end)) > 0
UNION ALL
SELECT w.day, l.kind, l.record_id, l.revision, l.source_file, l.source_index
FROM latest l
JOIN window_days w ON TRY_CAST(l.body ->> 'transferred_date' AS DATE) = w.day
WHERE l.kind = 'remittance';
