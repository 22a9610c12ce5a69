-- Pin the records a business day is booked from: the newest version of every order with any event
-- on the day (ordered, shipped, cancelled, paid or refunded; normalize decides what is booked), and of
-- every remittance transferred on it. Parameters (named): day, and day_start / day_end, the day's
-- bounds as instants in the business timezone.
DELETE FROM raw.stores_day_records WHERE business_date = $day;

INSERT INTO raw.stores_day_records
SELECT $day, kind, record_id, revision, source_file, source_index
FROM raw.stores_latest
WHERE (kind = 'order'
       AND first_event_at < $day_end AND last_event_at >= $day_start
       AND len(list_filter(event_times, lambda t: t >= $day_start AND t < $day_end)) > 0)
   OR (kind = 'remittance' AND TRY_CAST(body ->> 'transferred_date' AS DATE) = $day);
