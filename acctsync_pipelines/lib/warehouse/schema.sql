-- The warehouse schema. Applied (idempotently) whenever the pipeline opens the warehouse.
-- Documented for analysts in docs/warehouse.md.

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS ledger;
CREATE SCHEMA IF NOT EXISTS ops;

-- Source-neutral business events, one row per (document, tender, tax rate) or per cash event.
CREATE TABLE IF NOT EXISTS staging.normalized_transactions (
    source          VARCHAR NOT NULL,
    business_date   DATE    NOT NULL,
    store_code      VARCHAR,
    department      VARCHAR,
    doc_id          VARCHAR NOT NULL,   -- the source's own document id (伝票番号, order number, order id)
    doc_kind        VARCHAR NOT NULL,   -- sale | cancel | correction | cash_in | cash_out | over_short | ...
    original_doc_id VARCHAR,            -- the document a cancel / correction refers to
    tender          VARCHAR,            -- 支払区分 / payment type / instrument
    tender_name     VARCHAR,
    tax_rate        INTEGER,
    amount          BIGINT  NOT NULL,   -- JPY, tax-inclusive, signed (negative reverses)
    reason          VARCHAR,
    description     VARCHAR,
    revision        VARCHAR,            -- which version of the source data (e.g. the USEN bundle)
    source_file     VARCHAR,
    source_rows     VARCHAR             -- the raw rows this came from
);

-- The day's journal as the pipeline computed it (one row per line). ledger.journal_lines adds status.
CREATE TABLE IF NOT EXISTS ledger.journal_entry_lines (
    entry_id          VARCHAR NOT NULL,
    line_no           INTEGER NOT NULL,
    source            VARCHAR NOT NULL,
    business_date     DATE    NOT NULL,
    side              VARCHAR NOT NULL CHECK (side IN ('debit', 'credit')),
    account           VARCHAR NOT NULL,
    sub_account       VARCHAR NOT NULL DEFAULT '',
    department        VARCHAR NOT NULL DEFAULT '',
    tax_category      VARCHAR NOT NULL,
    amount            BIGINT  NOT NULL CHECK (amount >= 0),
    tax_amount        BIGINT  NOT NULL DEFAULT 0,
    description       VARCHAR NOT NULL DEFAULT '',
    source_ref        VARCHAR NOT NULL,
    rule              VARCHAR NOT NULL,
    confidence        DOUBLE  NOT NULL DEFAULT 1.0,
    review_status     VARCHAR NOT NULL CHECK (review_status IN ('ready', 'needs_review')),
    review_reason     VARCHAR,
    qualified_invoice BOOLEAN NOT NULL DEFAULT false,
    store_code        VARCHAR,
    revision          VARCHAR,
    content_hash      VARCHAR NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);

-- A person's approval of one version (content hash) of an entry that waited for review.
CREATE TABLE IF NOT EXISTS ledger.review_approvals (
    entry_id      VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,
    approved_at   TIMESTAMPTZ NOT NULL,
    approved_by   VARCHAR,
    PRIMARY KEY (entry_id, content_hash)
);

-- Account choices a person taught acctsync (review queue: set-account --remember). Applied to later
-- lines; a line decided by one records 'learned:<rule_id>' in its rule.
CREATE TABLE IF NOT EXISTS ledger.learned_rules (
    rule_id       VARCHAR NOT NULL PRIMARY KEY,
    source        VARCHAR NOT NULL,
    key_kind      VARCHAR NOT NULL,   -- asin | title_keyword | cash_reason | tender | ...
    key_value     VARCHAR NOT NULL,
    account       VARCHAR NOT NULL,
    sub_account   VARCHAR NOT NULL DEFAULT '',
    tax_category  VARCHAR,
    created_at    TIMESTAMPTZ NOT NULL,
    created_from  VARCHAR,            -- the entry_id / line it was learned from
    UNIQUE (source, key_kind, key_value)
);

-- Append-only posting log: one row per entry action sent (or being sent) to a target.
-- The row is claimed before anything is sent; (target, entry_id, action_seq) is unique.
CREATE TABLE IF NOT EXISTS ledger.postings (
    target        VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    business_date DATE    NOT NULL,
    entry_id      VARCHAR NOT NULL,
    action        VARCHAR NOT NULL CHECK (action IN ('post', 'reverse')),
    content_hash  VARCHAR NOT NULL,
    batch_id      VARCHAR NOT NULL,
    posted_at     TIMESTAMPTZ NOT NULL,
    target_ref    VARCHAR,
    action_seq    INTEGER NOT NULL,
    PRIMARY KEY (target, entry_id, action_seq)
);

-- The lines exactly as sent; a reversal is recorded with its sides swapped.
CREATE TABLE IF NOT EXISTS ledger.posted_lines (
    target            VARCHAR NOT NULL,
    batch_id          VARCHAR NOT NULL,
    entry_id          VARCHAR NOT NULL,
    action            VARCHAR NOT NULL,
    action_seq        INTEGER NOT NULL,
    source            VARCHAR NOT NULL,
    business_date     DATE    NOT NULL,
    line_no           INTEGER NOT NULL,
    account           VARCHAR NOT NULL,
    sub_account       VARCHAR NOT NULL,
    department        VARCHAR NOT NULL,
    side              VARCHAR NOT NULL,
    amount            BIGINT  NOT NULL,
    tax_category      VARCHAR NOT NULL,
    tax_amount        BIGINT  NOT NULL,
    description       VARCHAR NOT NULL,
    source_ref        VARCHAR NOT NULL,
    qualified_invoice BOOLEAN NOT NULL,
    guessed           BOOLEAN NOT NULL,
    PRIMARY KEY (target, entry_id, action_seq, line_no)
);

CREATE TABLE IF NOT EXISTS ledger.posting_batches (
    target        VARCHAR NOT NULL,
    batch_id      VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    business_date DATE    NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    export_file   VARCHAR,
    entry_actions INTEGER NOT NULL,
    line_count    INTEGER NOT NULL,
    PRIMARY KEY (target, batch_id)
);

-- Days whose input could not be booked, with the reason. A day is cleared when it next succeeds.
CREATE TABLE IF NOT EXISTS ops.day_errors (
    source        VARCHAR NOT NULL,
    business_date DATE    NOT NULL,
    stage         VARCHAR NOT NULL,
    message       VARCHAR NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, business_date)
);

CREATE OR REPLACE VIEW ledger.posted_state AS
SELECT target, entry_id,
       arg_max(content_hash, action_seq) FILTER (WHERE action = 'post') AS posted_hash,
       max(action_seq) AS last_seq,
       sum(CASE action WHEN 'post' THEN 1 ELSE -1 END) AS net_posts
FROM ledger.postings
GROUP BY target, entry_id;

CREATE OR REPLACE VIEW ledger.journal_lines AS
SELECT l.entry_id, l.line_no, l.source, l.business_date, l.side, l.account, l.sub_account,
       l.department, l.tax_category, l.amount, l.tax_amount, l.description, l.source_ref,
       l.rule, l.confidence,
       CASE
           WHEN p.entry_id IS NOT NULL THEN 'posted'
           WHEN l.review_status = 'needs_review' AND a.entry_id IS NULL THEN 'needs_review'
           WHEN a.entry_id IS NOT NULL THEN 'approved'
           ELSE 'ready'
       END AS status,
       l.review_reason, l.qualified_invoice, l.store_code, l.revision, l.content_hash
FROM ledger.journal_entry_lines l
LEFT JOIN ledger.review_approvals a USING (entry_id, content_hash)
LEFT JOIN (SELECT DISTINCT entry_id, posted_hash FROM ledger.posted_state WHERE net_posts > 0) p
       ON p.entry_id = l.entry_id AND p.posted_hash = l.content_hash
UNION ALL
-- Entries that were posted and then vanished from the source (reversed, nothing current).
SELECT pl.entry_id, pl.line_no, pl.source, pl.business_date, pl.side, pl.account, pl.sub_account,
       pl.department, pl.tax_category, pl.amount, pl.tax_amount, pl.description, pl.source_ref,
       'posted' AS rule, 1.0 AS confidence, 'reversed' AS status, NULL AS review_reason,
       pl.qualified_invoice, NULL AS store_code, NULL AS revision, NULL AS content_hash
FROM ledger.posted_lines pl
JOIN (SELECT target, entry_id, max(action_seq) AS seq FROM ledger.postings
      WHERE action = 'post' GROUP BY ALL) lastpost
  ON lastpost.target = pl.target AND lastpost.entry_id = pl.entry_id AND lastpost.seq = pl.action_seq
JOIN ledger.posted_state s ON s.target = pl.target AND s.entry_id = pl.entry_id AND s.net_posts = 0
WHERE NOT EXISTS (SELECT 1 FROM ledger.journal_entry_lines c WHERE c.entry_id = pl.entry_id)
  AND pl.target = (SELECT min(target) FROM ledger.postings x WHERE x.entry_id = pl.entry_id);

-- Helpers shared by every source's SQL.
-- Text → integer yen; thousands separators allowed; NULL when unparsable. Only plain digits: a bare
-- cast would round '1100.5' to 1101 and read '1e3', '0x10' and '1_000' as numbers.
CREATE OR REPLACE MACRO ops.to_int(x) AS CASE WHEN regexp_full_match(trim(x), '[+-]?[0-9]+(,[0-9]{3})*')
    THEN TRY_CAST(replace(replace(trim(x), ',', ''), '+', '') AS BIGINT) END;
-- 'YYYY-MM-DD' or 'YYYY/MM/DD' (optionally followed by a time) → DATE; NULL when unparsable.
-- (one try_strptime over the list of formats: same result, ~1.6x faster than one call per format)
CREATE OR REPLACE MACRO ops.to_date(x) AS TRY_CAST(try_strptime(trim(x),
    ['%Y-%m-%d', '%Y/%m/%d', '%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S']) AS DATE);
-- Consumption tax inside a tax-inclusive amount, for one rate of one document.
-- Rounds toward zero ('down'), half away from zero ('half_up'), or away from zero ('up').
CREATE OR REPLACE MACRO ops.inner_tax(amount, rate, rounding) AS
    CASE WHEN rate IS NULL OR rate = 0 THEN 0
         ELSE sign(amount) * CASE rounding
             WHEN 'down' THEN (abs(amount) * rate) // (100 + rate)
             WHEN 'up' THEN ((abs(amount) * rate) + (100 + rate) - 1) // (100 + rate)
             ELSE ((abs(amount) * rate * 2) + (100 + rate)) // ((100 + rate) * 2)
         END
    END;

-- API targets (freee, quickbooks, zoho_books): what happened to each claimed action, append-only.
-- 'sending' is written before a call whose outcome could be lost, so a resumed run looks the
-- document up at the target (by lookup_key) before sending again; 'done' carries the target's
-- document id; 'skipped' marks an action that needed no call (a superseded, never-sent version).
CREATE TABLE IF NOT EXISTS ledger.posting_results (
    target        VARCHAR NOT NULL,
    entry_id      VARCHAR NOT NULL,
    action_seq    INTEGER NOT NULL,
    attempt       INTEGER NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('sending', 'done', 'skipped', 'failed')),
    operation     VARCHAR NOT NULL,   -- e.g. create_deal, update_deal, delete_deal, create_manual_journal
    document_kind VARCHAR,            -- deal | manual_journal | journal_entry | journal
    target_ref    VARCHAR,            -- the target's document id
    lookup_key    VARCHAR,            -- freee ref_number, QuickBooks requestid, Zoho reference_number
    message       VARCHAR,
    recorded_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (target, entry_id, action_seq, attempt)
);

-- Calls made to an API target per account (company / realm / organization) and Tokyo calendar day,
-- checked against the configured daily budget before each call.
CREATE TABLE IF NOT EXISTS ops.api_calls (
    target     VARCHAR NOT NULL,
    account    VARCHAR NOT NULL,
    call_date  DATE    NOT NULL,
    calls      INTEGER NOT NULL,
    PRIMARY KEY (target, account, call_date)
);

-- Review queue (未確定の取引; acctsync review). A journal line waits while its review_reason is set (a
-- default or low-confidence guess, a suspense account, an unknown tender, a failed non-blocking check);
-- review_status is its entry's: 'needs_review' while any line of the entry waits.

-- A person's account for one line of one version of an entry (review set-account / import). base_hash is
-- the entry's content hash as the source computed it: the correction is re-applied whenever the day's
-- journal is rebuilt from the same facts, and goes out of force when the facts change the entry.
CREATE TABLE IF NOT EXISTS ledger.review_overrides (
    entry_id        VARCHAR NOT NULL,
    line_no         INTEGER NOT NULL,
    base_hash       VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    business_date   DATE    NOT NULL,
    account         VARCHAR NOT NULL,
    sub_account     VARCHAR NOT NULL DEFAULT '',
    tax_category    VARCHAR NOT NULL,
    rule            VARCHAR NOT NULL,   -- what the corrected line records in its rule
    guessed_account VARCHAR NOT NULL,   -- what the source had chosen, and by which rule
    guessed_rule    VARCHAR NOT NULL,
    set_at          TIMESTAMPTZ NOT NULL,
    set_by          VARCHAR,
    PRIMARY KEY (entry_id, line_no, base_hash)
);

-- Learned rule ids (L0001, …) are never reused, so a line's 'learned:<rule_id>' always means one rule.
CREATE SEQUENCE IF NOT EXISTS ledger.learned_rule_numbers START 1;

-- An entry's content hash from its lines, as an aggregate (GROUP BY entry) or a window
-- (OVER (PARTITION BY entry_id)). Sources and review corrections share it, so equal lines give equal hashes
-- whichever path produced them (a qualified invoice adds a marker; lines without one hash as they always did).
CREATE OR REPLACE MACRO ops.entry_content_hash(line_no, side, account, sub_account, department, tax_category,
                                               amount, tax_amount, description, qualified_invoice) AS
    md5(string_agg(concat_ws('|', line_no, side, account, sub_account, department, tax_category, amount,
                             tax_amount, description) || CASE WHEN qualified_invoice THEN '|qualified' ELSE '' END,
                   '\n' ORDER BY line_no));

-- Whether a learned rule created at rule_created_at may decide a line of entry `entry`: not when the entry
-- was posted before the rule existed, so learning never silently rewrites what was already posted.
CREATE OR REPLACE MACRO ops.learned_rule_applies(entry, rule_created_at) AS NOT EXISTS (
    SELECT 1 FROM ledger.postings p
    WHERE p.entry_id = entry AND p.action = 'post' AND p.posted_at < rule_created_at);

-- A source's journal lines for the days first_day..last_day, each with `source_rule`: the rule the source's
-- own mapping chose, before a person's correction (ledger.review_overrides) replaced `rule`. Checks that
-- compare the journal with the source's facts find their lines by source_rule, so correcting the account
-- of, say, a sales line never fails its day.
CREATE OR REPLACE MACRO ops.journal_lines_by_source_rule(for_source, first_day, last_day) AS TABLE
    SELECT l.*, coalesce(o.guessed_rule, l.rule) AS source_rule
    FROM ledger.journal_entry_lines l
    LEFT JOIN (SELECT entry_id, line_no, rule, arg_max(guessed_rule, set_at) AS guessed_rule
               FROM ledger.review_overrides GROUP BY entry_id, line_no, rule) o
           ON o.entry_id = l.entry_id AND o.line_no = l.line_no AND o.rule = l.rule
    WHERE l.source = for_source AND l.business_date BETWEEN first_day AND last_day;

-- Report views for analysts (settlement: reports.unsettled_receivables, reports.unmatched_deposits).
CREATE SCHEMA IF NOT EXISTS reports;
