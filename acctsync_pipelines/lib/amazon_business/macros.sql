-- Parsing helpers for Amazon Business text, created per connection (temporary).
-- Money text ("1751.0", "-2.99", "¥1,234") → DECIMAL; NULL when unparsable.
CREATE OR REPLACE TEMP MACRO ab_money(x) AS
    TRY_CAST(regexp_replace(trim(CAST(x AS VARCHAR)), '[,¥￥ ]', '', 'g') AS DECIMAL(18, 3));
-- Tax rate text ("0.10", "0.1", "10", "8%") → whole percent; NULL when unparsable or fractional.
CREATE OR REPLACE TEMP MACRO ab_rate(x) AS (
    WITH v AS (SELECT TRY_CAST(replace(trim(CAST(x AS VARCHAR)), '%', '') AS DECIMAL(18, 6)) AS r)
    SELECT CASE WHEN r IS NULL THEN NULL
                WHEN r < 1 AND r * 100 = round(r * 100) THEN CAST(r * 100 AS INTEGER)
                WHEN r >= 1 AND r = round(r) THEN CAST(r AS INTEGER)
           END
    FROM v);
-- The business day of a transaction: API and JSON timestamps are instants (no offset = UTC) and
-- are converted to the business timezone; Orders-report dates are already local calendar dates.
CREATE OR REPLACE TEMP MACRO ab_local_date(input, x, tz) AS
    CASE WHEN input = 'csv'
         THEN CAST(try_strptime(trim(x), ['%m/%d/%Y', '%Y/%m/%d', '%Y-%m-%d', '%m/%d/%Y %H:%M:%S',
                                          '%Y/%m/%d %H:%M:%S', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S',
                                          '%m/%d/%Y %H:%M', '%Y/%m/%d %H:%M', '%Y-%m-%d %H:%M']) AS DATE)
         ELSE CAST(timezone(tz, TRY_CAST(trim(x) AS TIMESTAMPTZ)) AS DATE)
    END;
