-- Settlement for one bank value date (the day), step 1: clear the day's earlier results, take the day's
-- deposits, and recognise those a source already booked to the bank (a STORES payout, a register's
-- 銀行預入): they are never settled again. The rest wait in pending_deposits for the matching rounds.
DELETE FROM ledger.journal_entry_lines WHERE source = 'settlement' AND business_date = $day;

DELETE FROM ledger.settlement_allocations WHERE value_date = $day;

DELETE FROM ledger.deposit_matches WHERE value_date = $day;

CREATE OR REPLACE TEMP TABLE day_deposits AS
SELECT line_id, value_date, description, payer_key, deposit AS amount, source_file, source_row,
       row_number() OVER (ORDER BY source_file, source_row, line_id) AS seq,
       'settlement:' || strftime(value_date, '%Y-%m-%d') || ':' || left(line_id, 12) AS entry_id
FROM raw.bank_statement_lines
WHERE value_date = $day AND deposit > 0;

-- Which rules' payer text each deposit's description holds.
CREATE OR REPLACE TEMP TABLE day_payer_rules AS
SELECT DISTINCT d.line_id, p.rule
FROM day_deposits d JOIN ops.settlement_payers p ON contains(d.payer_key, p.payer_key);

-- A deposit naming no rule's payer, of the same amount as a bank debit a source booked within the
-- window and that no other day's deposit took: equal amounts pair up nearest booking day first.
CREATE OR REPLACE TEMP TABLE day_booked AS
WITH cfg AS (SELECT * FROM ops.settlement_config),
taken AS (SELECT booked_ref FROM ledger.deposit_matches WHERE booked_ref IS NOT NULL),
booked AS (
    SELECT l.entry_id, l.entry_id || '#' || l.line_no AS booked_ref, l.business_date, l.amount
    FROM ledger.journal_entry_lines l
    JOIN cfg ON l.account = cfg.bank_account
    WHERE l.side = 'debit' AND l.source <> 'settlement'
      AND l.business_date BETWEEN $day - cfg.booked_window_days AND $day + cfg.booked_window_days
      AND l.entry_id || '#' || l.line_no NOT IN (SELECT booked_ref FROM taken)
),
ranked_booked AS (
    SELECT *, row_number() OVER (PARTITION BY amount
                                 ORDER BY abs($day - business_date), business_date, booked_ref) AS k
    FROM booked
),
ranked_deposits AS (
    SELECT *, row_number() OVER (PARTITION BY amount ORDER BY seq) AS k
    FROM day_deposits
    WHERE line_id NOT IN (SELECT line_id FROM day_payer_rules)
)
SELECT d.line_id, b.entry_id AS booked_entry_id, b.booked_ref, b.business_date AS booked_date
FROM ranked_deposits d JOIN ranked_booked b ON b.amount = d.amount AND b.k = d.k;

INSERT INTO ledger.deposit_matches
    (line_id, value_date, amount, description, status, match_kind, booked_entry_id, booked_ref, candidates, reason,
     source_file, source_row, matched_at)
SELECT d.line_id, d.value_date, d.amount, d.description, 'booked', 'booked', b.booked_entry_id, b.booked_ref, 1,
       'already booked by ' || b.booked_entry_id || ' on ' || b.booked_date, d.source_file, d.source_row, now()
FROM day_deposits d JOIN day_booked b USING (line_id);

CREATE OR REPLACE TEMP TABLE pending_deposits AS
SELECT * FROM day_deposits WHERE line_id NOT IN (SELECT line_id FROM day_booked);
