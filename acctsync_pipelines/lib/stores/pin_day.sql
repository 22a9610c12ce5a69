-- Pin the records each business day of a window is booked from: the newest version of every order with
-- any event on the day (ordered, shipped, cancelled, paid or refunded; normalize decides what is booked),
-- and of every remittance transferred on it. Parameters (named): days, first_day, last_day (one day is a
-- window of one), tz (a day's bounds are its midnights in the business timezone).
DELETE FROM raw.stores_day_records
WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);

INSERT INTO raw.stores_day_records
WITH window_days AS (
    SELECT day, timezone($tz, day::TIMESTAMP) AS day_start, timezone($tz, (day + 1)::TIMESTAMP) AS day_end
    FROM (SELECT unnest($days::DATE[]) AS day)
)
SELECT w.day, l.kind, l.record_id, l.revision, l.source_file, l.source_index
FROM raw.stores_latest l
JOIN window_days w ON l.first_event_at < w.day_end AND l.last_event_at >= w.day_start
WHERE l.kind = 'order' AND len(list_filter(l.event_times, lambda t: t >= w.day_start AND t < w.day_end)) > 0
UNION ALL
SELECT w.day, l.kind, l.record_id, l.revision, l.source_file, l.source_index
FROM raw.stores_latest l
JOIN window_days w ON TRY_CAST(l.body ->> 'transferred_date' AS DATE) = w.day
WHERE l.kind = 'remittance';
