-- Replace the day's bank lines (the day) from bank_rows, and the registry of exports (temp view bank_files).
-- A line is identified by its content and its occurrence in the export, so the same line in two
-- overlapping exports is one line, and two identical lines on one day stay two.
DELETE FROM raw.bank_statement_lines WHERE value_date = $day;

INSERT INTO raw.bank_statement_lines
WITH day_rows AS (
    SELECT *,
           row_number() OVER (PARTITION BY source_file, value_date, description, deposit, withdrawal, balance
                              ORDER BY source_row)::INTEGER AS occurrence
    FROM bank_rows
    WHERE value_date = $day AND (deposit > 0 OR withdrawal > 0)
),
keyed AS (
    SELECT *, md5(concat_ws('|', value_date, description, deposit, withdrawal,
                            coalesce(CAST(balance AS VARCHAR), ''), occurrence)) AS line_id
    FROM day_rows
)
SELECT DISTINCT ON (line_id)
       line_id, value_date, description, payer_key, deposit, withdrawal, balance, occurrence, source_file, source_row,
       now()
FROM keyed
ORDER BY line_id, source_file, source_row;

DELETE FROM raw.bank_statement_files;

INSERT INTO raw.bank_statement_files
SELECT f.source_file, f.digest, f.line_count, min(r.value_date), max(r.value_date), now()
FROM bank_files f LEFT JOIN bank_rows r USING (source_file)
GROUP BY f.source_file, f.digest, f.line_count;
