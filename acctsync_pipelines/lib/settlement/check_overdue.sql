-- Receivables still open after their payment date plus the rule's grace days, as of each day of the
-- window (the list $days) or the last bank statement date, whichever is earlier (a day the
-- statement does not cover yet cannot say what was paid). Rows are warnings: they do not stop posting.
WITH as_of AS (
    SELECT day AS business_date, least(day, (SELECT max(last_date) FROM raw.bank_statement_files)) AS as_of_date
    FROM (SELECT unnest($days::DATE[]) AS day)
)
SELECT a.business_date, o.rule, o.source, o.sub_account, o.store_code, o.department, o.sale_date,
       o.expected_date, o.remaining, a.as_of_date - (o.expected_date + o.grace_days) AS days_past_grace
FROM reports.open_receivables o CROSS JOIN as_of a
WHERE o.rule IS NOT NULL AND o.remaining > 0 AND o.expected_date + o.grace_days < a.as_of_date
ORDER BY a.business_date, o.expected_date, o.rule, o.sub_account, o.store_code, o.sale_date
