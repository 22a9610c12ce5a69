-- Typed views over the raw Amazon Business tables (temporary; they read the cfg_* tables of this
-- connection). Queries filter them by business_date.
CREATE OR REPLACE TEMP VIEW ab_txn_parsed AS
WITH t AS (
    SELECT t.*,
           upper(trim(coalesce(t.transaction_type, ''))) AS kind,
           ab_money(t.amount) AS amount_value,
           upper(coalesce(nullif(trim(t.currency), ''), 'JPY')) AS currency_code,
           (SELECT c.name FROM cfg_ab_instruments c
             WHERE contains(lower(coalesce(t.payment_instrument_type, '')), lower(c.pattern))
             ORDER BY c.priority LIMIT 1) AS instrument
    FROM raw.amazon_business_transactions t
)
SELECT t.*, coalesce(c.exclude, false) AS instrument_excluded
FROM t LEFT JOIN (SELECT DISTINCT name, exclude FROM cfg_ab_instruments) c ON c.name = t.instrument;

CREATE OR REPLACE TEMP VIEW ab_line_parsed AS
WITH l AS (
    SELECT l.*, t.kind, t.currency_code, t.input, t.instrument, t.instrument_excluded,
           ab_money(l.total_amount) AS total_value,
           ab_money(l.tax_amount) AS tax_value,
           TRY_CAST(trim(l.item_quantity) AS INTEGER) AS quantity,
           nullif(trim(coalesce(l.tax_rate, '')), '') IS NOT NULL AS rate_given
    FROM raw.amazon_business_line_items l
    JOIN ab_txn_parsed t USING (business_date, transaction_id)
),
fit AS (
    -- without a rate, the configured rate whose inner tax is nearest the line's tax amount
    SELECT l.business_date, l.transaction_id, l.line_no,
           arg_min(r.rate, {'gap': abs(abs(l.tax_value) - abs(l.total_value) * r.rate / (100 + r.rate)),
                            'higher_rate_first': -r.rate}) AS rate,
           min(abs(abs(l.tax_value) - abs(l.total_value) * r.rate / (100 + r.rate))) AS gap
    FROM l CROSS JOIN cfg_tax_rates r
    WHERE NOT l.rate_given AND l.tax_value IS NOT NULL AND l.total_value IS NOT NULL
    GROUP BY ALL
)
SELECT l.*,
       CASE WHEN l.rate_given THEN ab_rate(l.tax_rate)
            WHEN f.gap <= greatest(1, coalesce(l.quantity, 1)) THEN f.rate END AS rate,
       f.rate AS nearest_rate,
       coalesce(l.gl_code,
                (SELECT u.e.value FROM (SELECT unnest(map_entries(
                        TRY_CAST(l.business_order_info AS MAP(VARCHAR, VARCHAR)))) AS e) u
                  WHERE lower(u.e.key) IN (SELECT lower(label) FROM cfg_ab_gl_labels) LIMIT 1)) AS gl_value,
       CASE WHEN l.input = 'csv'
            THEN lower(trim(coalesce(l.order_status, ''))) IN (SELECT lower(status) FROM cfg_ab_delivered)
            ELSE coalesce(nullif(trim(l.shipment_date), ''), nullif(trim(l.shipment_id), '')) IS NOT NULL
       END AS delivered
FROM l LEFT JOIN fit f USING (business_date, transaction_id, line_no);
