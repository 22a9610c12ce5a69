-- Parse the bank exports (temp view bank_frame: verbatim text per line) and find what cannot be read.
-- Parameters: day, formats (strptime formats, tried in order).
CREATE OR REPLACE TEMP TABLE bank_rows AS
SELECT source_file, source_row, date_text, description, payer_key, deposit_text, withdrawal_text, balance_text,
       coalesce(CAST(try_strptime(trim(date_text), $formats) AS DATE), ops.settlement_wareki(date_text)) AS value_date,
       ops.settlement_yen(deposit_text) AS deposit,
       ops.settlement_yen(withdrawal_text) AS withdrawal,
       CASE WHEN trim(balance_text) <> '' THEN ops.settlement_yen(balance_text) END AS balance
FROM bank_frame;

-- Problems, one row each: (source_file, source_row, column, value, problem). A date nobody can read
-- fails every day (the line could be any day's); an amount fails the day it is on.
CREATE OR REPLACE TEMP TABLE bank_problems AS
SELECT source_file, source_row, 'date' AS column_key, date_text AS value,
       'not a date (formats: settlement.date_formats, or 和暦 such as R7.6.15)' AS problem
FROM bank_rows WHERE value_date IS NULL
UNION ALL
SELECT source_file, source_row, 'deposit', deposit_text, 'not a whole, non-negative yen amount'
FROM bank_rows WHERE value_date = $day AND (deposit IS NULL OR deposit < 0)
UNION ALL
SELECT source_file, source_row, 'withdrawal', withdrawal_text, 'not a whole, non-negative yen amount'
FROM bank_rows WHERE value_date = $day AND (withdrawal IS NULL OR withdrawal < 0)
UNION ALL
SELECT source_file, source_row, 'balance', balance_text, 'not a whole yen amount'
FROM bank_rows WHERE value_date = $day AND trim(balance_text) <> '' AND balance IS NULL
UNION ALL
SELECT source_file, source_row, 'deposit', deposit_text || ' / ' || withdrawal_text,
       'a line cannot both deposit and withdraw'
FROM bank_rows WHERE value_date = $day AND deposit > 0 AND withdrawal > 0
ORDER BY source_file, source_row
