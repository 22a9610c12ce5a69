-- Every transaction the inputs hold, with its business day.
-- Inputs: the kept rows of the inbox files (raw.amazon_business_file_*) of the files in _ab_order
-- (source_file, source_order: the reading order of this run), and the other inputs parsed on this
-- connection (_ab_parsed_*, see parse.sql: API answers). Parameter: tz (the business timezone).
-- Outputs (temporary): _ab_all_txn, _ab_chosen, _ab_txn, _ab_lines, and the view _ab_inv.
-- A transaction id seen more than once is taken from the input read last (highest source_order).
CREATE OR REPLACE TEMP TABLE _ab_all_txn AS
SELECT o.source_order, f.* FROM raw.amazon_business_file_transactions f JOIN _ab_order o USING (source_file)
UNION ALL BY NAME
SELECT * FROM _ab_parsed_txn;

CREATE OR REPLACE TEMP VIEW _ab_inv AS
SELECT o.source_order, f.* FROM raw.amazon_business_file_invoices f JOIN _ab_order o USING (source_file)
UNION ALL BY NAME
SELECT * FROM _ab_parsed_inv;

CREATE OR REPLACE TEMP TABLE _ab_chosen AS
SELECT *, ab_local_date(input, transaction_date, $tz) AS local_date
FROM _ab_all_txn
WHERE coalesce(transaction_id, '') <> ''
QUALIFY row_number() OVER (PARTITION BY transaction_id ORDER BY source_order DESC, source_row DESC) = 1;

-- Split-payment parts (associatedTransactionDetails, either direction) form one group, booked on
-- the day of its earliest part.
CREATE OR REPLACE TEMP TABLE _ab_txn AS
WITH RECURSIVE edges AS (
    SELECT transaction_id AS a, unnest(associated_ids) AS b FROM _ab_chosen
),
links AS (
    SELECT a, b FROM edges WHERE b IN (SELECT transaction_id FROM _ab_chosen)
    UNION SELECT b, a FROM edges WHERE b IN (SELECT transaction_id FROM _ab_chosen)
),
reach(root, node) AS (
    SELECT transaction_id, transaction_id FROM _ab_chosen
    UNION
    SELECT r.root, l.b FROM reach r JOIN links l ON l.a = r.node
),
group_day AS (
    SELECT r.root AS transaction_id, min(c.local_date) AS business_date
    FROM reach r JOIN _ab_chosen c ON c.transaction_id = r.node
    GROUP BY r.root
)
SELECT c.*, g.business_date
FROM _ab_chosen c JOIN group_day g USING (transaction_id);

CREATE OR REPLACE TEMP TABLE _ab_lines AS
WITH all_lines AS (
    SELECT o.source_order, f.* FROM raw.amazon_business_file_line_items f JOIN _ab_order o USING (source_file)
    UNION ALL BY NAME
    SELECT * FROM _ab_parsed_lines
)
SELECT f.*, t.business_date
FROM all_lines f
JOIN _ab_txn t ON t.transaction_id = f.transaction_id AND t.source_order = f.source_order
              AND t.source_file = f.source_file;
