-- STORES → staging.normalized_transactions for a window of business days, from the records pinned for
-- each day (raw.stores_day_records; an order pinned on several days of the window is worked on each
-- of them, so every step below is keyed by business_date too). Parameters: days, first_day, last_day
-- (one day is a window of one), basis ('shipped' | 'ordered'), tz.
--
-- Per order, two events can fall on a day:
--   sale    on the recognition day: ordered_at (basis 'ordered'), or (basis 'shipped') once every
--           delivery is shipped or cancelled, at the latest of those times, if one was shipped
--           (counter, download and ticket deliveries count as shipped at shipped_at, else paid_at),
--   cancel  on the day of the latest cancellation or refund (deliveries[].canceled_at, the paid_at of
--           negative transactions), when that is after recognition. A cancellation at or before
--           recognition is netted into the sale instead.
-- Rows per event: one per (tender, tax rate), tenders allocated across rates by largest remainder so
-- that both totals match to the yen; payment fees per tender (doc_kind 'payment_fee', reason = event).
-- Remittances transferred on the day: one row per component (doc_kind 'payout') and the STORES負担
-- coupon transfer (doc_kind 'campaign_coupon'). The vendor's per-rate output tax goes to
-- staging.stores_output_tax (the caller has deleted the window's rows of both tables).
CREATE OR REPLACE TEMP TABLE stores_day_orders AS
SELECT d.business_date, d.record_id AS order_id, d.revision, d.source_file, d.source_index, s.body,
       s.body ->> 'number' AS number,
       coalesce(nullif(s.body ->> 'sales_channel_id', ''), 'ec') AS sales_channel_id,
       TRY_CAST(s.body ->> 'ordered_at' AS TIMESTAMPTZ) AS ordered_at
FROM raw.stores_day_records d
JOIN raw.stores_snapshots s USING (kind, record_id, revision)
WHERE d.business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, d.business_date) AND d.kind = 'order';

CREATE OR REPLACE TEMP TABLE stores_day_tx AS
WITH listed AS (
    SELECT business_date, order_id,
           unnest(json_extract(body, '$.transactions[*]')) AS tx,
           generate_subscripts(json_extract(body, '$.transactions[*]'), 1) - 1 AS tx_index
    FROM stores_day_orders
),
parsed AS (
    SELECT business_date, order_id, tx_index, tx ->> 'type' AS tender,
           TRY_CAST(tx ->> 'amount' AS BIGINT) AS amount,
           coalesce(TRY_CAST(tx ->> 'payment_fee' AS BIGINT), 0) AS payment_fee,
           TRY_CAST(tx ->> 'paid_at' AS TIMESTAMPTZ) AS paid_at,
           nullif(tx ->> 'payment_method_name', '') AS method_name
    FROM listed
),
-- A refund of a custom tender does not repeat its name: it refunds the order's first custom tender.
custom_names AS (
    SELECT business_date, order_id, arg_min(method_name, tx_index) AS first_name
    FROM parsed WHERE tender = 'custom' AND method_name IS NOT NULL GROUP BY business_date, order_id
)
SELECT p.business_date, p.order_id, p.tx_index, p.tender,
       CASE WHEN p.tender = 'custom' THEN coalesce(p.method_name, c.first_name, '') END AS tender_name,
       p.amount, p.payment_fee, p.paid_at
FROM parsed p LEFT JOIN custom_names c USING (business_date, order_id);

CREATE OR REPLACE TEMP TABLE stores_day_rates AS
WITH listed AS (
    SELECT business_date, order_id, unnest(json_extract(body, '$.tax_details[*]')) AS td FROM stores_day_orders
)
SELECT business_date, order_id, round(TRY_CAST(td ->> 'tax_rate' AS DOUBLE) * 100)::INTEGER AS tax_rate,
       sum(TRY_CAST(td ->> 'sales_amount' AS BIGINT)) AS sales_amount,
       sum(TRY_CAST(td ->> 'cancel_amount' AS BIGINT)) AS cancel_amount,
       sum(TRY_CAST(td ->> 'sales_tax' AS BIGINT)) AS sales_tax,
       sum(TRY_CAST(td ->> 'cancel_tax' AS BIGINT)) AS cancel_tax
FROM listed
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE stores_day_events AS
WITH paid AS (
    SELECT business_date, order_id,
           min(paid_at) FILTER (WHERE amount > 0) AS first_paid_at,
           max(paid_at) FILTER (WHERE amount < 0) AS last_refund_at,
           bool_or(amount < 0) AS has_refund
    FROM stores_day_tx GROUP BY business_date, order_id
),
deliveries AS (
    SELECT o.business_date, o.order_id, d ->> 'type' AS delivery_type,
           TRY_CAST(d ->> 'shipped_at' AS TIMESTAMPTZ) AS shipped_at,
           TRY_CAST(d ->> 'canceled_at' AS TIMESTAMPTZ) AS canceled_at
    FROM (SELECT business_date, order_id, unnest(json_extract(body, '$.deliveries[*]')) AS d FROM stores_day_orders) o
),
fulfilled AS (
    SELECT d.*, CASE WHEN d.delivery_type IN ('counter', 'download', 'ticket')
                     THEN coalesce(d.shipped_at, p.first_paid_at)
                     ELSE d.shipped_at END AS fulfilled_at
    FROM deliveries d LEFT JOIN paid p USING (business_date, order_id)
),
fulfilment AS (
    SELECT business_date, order_id,
           bool_and(coalesce(fulfilled_at, canceled_at) IS NOT NULL) AS all_resolved,
           bool_or(fulfilled_at IS NOT NULL) AS any_fulfilled,
           max(coalesce(fulfilled_at, canceled_at)) AS resolved_at,
           max(canceled_at) AS last_canceled_at
    FROM fulfilled
    GROUP BY business_date, order_id
),
cancel_totals AS (
    SELECT business_date, order_id, sum(cancel_amount) AS cancel_total FROM stores_day_rates
    GROUP BY business_date, order_id
),
facts AS (
    SELECT o.business_date, o.order_id, o.number, o.sales_channel_id, o.revision, o.source_file, o.source_index,
           CASE $basis WHEN 'ordered' THEN o.ordered_at
                ELSE CASE WHEN f.all_resolved AND f.any_fulfilled THEN f.resolved_at END END AS recognized_at,
           greatest(f.last_canceled_at, p.last_refund_at) AS canceled_at,
           coalesce(c.cancel_total, 0) <> 0 OR coalesce(p.has_refund, false) AS has_cancel
    FROM stores_day_orders o
    LEFT JOIN fulfilment f USING (business_date, order_id)
    LEFT JOIN paid p USING (business_date, order_id)
    LEFT JOIN cancel_totals c USING (business_date, order_id)
),
recognised AS (
    SELECT *, has_cancel AND canceled_at <= recognized_at AS folded
    FROM facts WHERE recognized_at IS NOT NULL
)
SELECT *, 'sale' AS event FROM recognised WHERE timezone($tz, recognized_at)::DATE = business_date
UNION ALL
SELECT *, 'cancel' FROM recognised
WHERE has_cancel AND NOT folded AND timezone($tz, canceled_at)::DATE = business_date;

INSERT INTO staging.stores_output_tax
SELECT e.business_date, e.number, e.event, r.tax_rate,
       CASE e.event WHEN 'sale' THEN r.sales_amount - CASE WHEN e.folded THEN r.cancel_amount ELSE 0 END
                    ELSE -r.cancel_amount END,
       CASE e.event WHEN 'sale' THEN r.sales_tax - CASE WHEN e.folded THEN r.cancel_tax ELSE 0 END
                    ELSE -r.cancel_tax END,
       e.revision, e.source_file
FROM stores_day_events e JOIN stores_day_rates r USING (business_date, order_id);

INSERT INTO staging.normalized_transactions
WITH event_rates AS (
    SELECT e.business_date, e.order_id, e.event, t.tax_rate, t.taxable_amount AS amount
    FROM stores_day_events e
    JOIN staging.stores_output_tax t
      ON t.business_date = e.business_date AND t.doc_id = e.number AND t.event = e.event
),
-- What each event moves per tender, before the balancing parts below.
tender_parts AS (
    SELECT e.business_date, e.order_id, e.event, x.tender, x.tender_name,
           coalesce(sum(x.amount) FILTER (WHERE e.event = 'sale' AND x.amount > 0), 0)
           + coalesce(sum(x.amount) FILTER (WHERE x.amount < 0 AND (e.event = 'cancel' OR e.folded)), 0) AS amount
    FROM stores_day_events e JOIN stores_day_tx x USING (business_date, order_id)
    GROUP BY ALL
),
gross AS (
    SELECT business_date, order_id,
           coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS paid_total,
           -coalesce(sum(amount) FILTER (WHERE amount < 0), 0) AS refunded_total
    FROM stores_day_tx GROUP BY business_date, order_id
),
largest_tender AS (
    SELECT business_date, order_id, tender, tender_name
    FROM (SELECT business_date, order_id, tender, tender_name, sum(amount) AS paid, min(tx_index) AS first_index
          FROM stores_day_tx WHERE amount > 0 GROUP BY ALL)
    QUALIFY row_number() OVER (PARTITION BY business_date, order_id ORDER BY paid DESC, first_index) = 1
),
rate_totals AS (
    SELECT e.business_date, e.order_id, e.event, e.folded,
           sum(r.sales_amount) AS sales_total, sum(r.cancel_amount) AS cancel_total
    FROM stores_day_events e JOIN stores_day_rates r USING (business_date, order_id)
    GROUP BY ALL
),
-- A cancellation not refunded (an unpaid order) cancels the receivable of the order's main tender,
-- a refund beyond the cancellation, or payments that differ from the sale, go to '(unmatched)'.
balancing AS (
    SELECT t.business_date, t.order_id, t.event, coalesce(l.tender, '(unmatched)') AS tender,
           CASE WHEN l.tender IS NOT NULL THEN l.tender_name END AS tender_name,
           -(t.cancel_total - g.refunded_total) AS amount
    FROM rate_totals t JOIN gross g USING (business_date, order_id)
    LEFT JOIN largest_tender l USING (business_date, order_id)
    WHERE (t.event = 'cancel' OR t.folded) AND t.cancel_total > g.refunded_total
    UNION ALL
    SELECT t.business_date, t.order_id, t.event, '(unmatched)', NULL, g.refunded_total - t.cancel_total
    FROM rate_totals t JOIN gross g USING (business_date, order_id)
    WHERE (t.event = 'cancel' OR t.folded) AND t.cancel_total < g.refunded_total
    UNION ALL
    SELECT t.business_date, t.order_id, t.event, '(unmatched)', NULL, t.sales_total - g.paid_total
    FROM rate_totals t JOIN gross g USING (business_date, order_id)
    WHERE t.event = 'sale' AND t.sales_total <> g.paid_total
),
event_tenders AS (
    SELECT business_date, order_id, event, tender, tender_name, sum(amount) AS amount
    FROM (SELECT * FROM tender_parts UNION ALL SELECT * FROM balancing)
    GROUP BY ALL
    HAVING sum(amount) <> 0
),
ranked_rates AS (
    SELECT r.*, row_number() OVER (PARTITION BY business_date, order_id, event ORDER BY tax_rate DESC) AS rate_rank,
           count(*) OVER (PARTITION BY business_date, order_id, event) AS rate_count,
           sum(amount) OVER (PARTITION BY business_date, order_id, event) AS event_total
    FROM event_rates r
),
shares AS (
    SELECT r.business_date, r.order_id, r.event, r.tax_rate, r.amount AS rate_amount, r.rate_rank, r.rate_count,
           t.tender, t.tender_name, t.amount AS tender_amount,
           CASE WHEN r.event_total = 0 THEN 0::DOUBLE
                ELSE t.amount::DOUBLE * r.amount / r.event_total END AS exact
    FROM ranked_rates r JOIN event_tenders t USING (business_date, order_id, event)
),
floored AS (
    SELECT *, trunc(exact)::BIGINT AS base, abs(exact - trunc(exact)) AS remainder FROM shares
),
leftover AS (
    SELECT *,
           rate_amount - sum(base) OVER (PARTITION BY business_date, order_id, event, tax_rate) AS need,
           row_number() OVER (PARTITION BY business_date, order_id, event, tax_rate
                              ORDER BY remainder DESC, tender, tender_name) AS remainder_rank
    FROM floored
),
allocated AS (
    SELECT *, base + CASE WHEN remainder_rank <= abs(need) THEN sign(need) ELSE 0 END AS share FROM leftover
),
split AS (
    SELECT business_date, order_id, event, tax_rate, tender, tender_name,
           CASE WHEN rate_rank < rate_count THEN share
                ELSE tender_amount - coalesce(sum(share) FILTER (WHERE rate_rank < rate_count)
                                              OVER (PARTITION BY business_date, order_id, event, tender, tender_name), 0)
           END AS amount
    FROM allocated
),
fees AS (
    SELECT e.business_date, e.order_id, e.event, x.tender, x.tender_name,
           sum(x.payment_fee) FILTER (WHERE (e.event = 'sale' AND x.amount >= 0)
                                         OR (x.amount < 0 AND (e.event = 'cancel' OR e.folded))) AS amount
    FROM stores_day_events e JOIN stores_day_tx x USING (business_date, order_id)
    GROUP BY ALL
),
labelled AS (
    SELECT e.business_date, e.order_id, e.event, e.number, e.sales_channel_id, e.revision, e.source_file, e.source_index, e.folded,
           coalesce(d.department, c.name,
                    CASE WHEN e.sales_channel_id = 'ec' THEN '' ELSE e.sales_channel_id END) AS department
    FROM stores_day_events e
    LEFT JOIN cfg_stores_departments d USING (sales_channel_id)
    LEFT JOIN (SELECT record_id AS sales_channel_id, body ->> 'name' AS name
               FROM raw.stores_latest WHERE kind = 'sales_channel') c USING (sales_channel_id)
),
remittances AS (
    SELECT d.business_date, d.record_id AS remittance_id, d.revision, d.source_file, d.source_index, s.body,
           coalesce(json_type(s.body, '$.fee_detail') = 'OBJECT', false) AS has_fee_detail
    FROM raw.stores_day_records d
    JOIN raw.stores_snapshots s USING (kind, record_id, revision)
    WHERE d.business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, d.business_date) AND d.kind = 'remittance'
),
payout_parts AS (
    SELECT r.*, p.component, p.amount
    FROM remittances r
    CROSS JOIN LATERAL (
        SELECT * FROM (VALUES
            ('transfer_amount', TRY_CAST(r.body ->> 'transfer_amount' AS BIGINT)),
            ('transfer_fee', TRY_CAST(r.body ->> 'transfer_fee' AS BIGINT)),
            ('speedcash_payment_fee', TRY_CAST(r.body ->> 'speedcash_payment_fee' AS BIGINT)),
            ('chargeback_amount', TRY_CAST(r.body ->> 'chargeback_amount' AS BIGINT)),
            ('deduction_amount', CASE WHEN NOT r.has_fee_detail THEN TRY_CAST(r.body ->> 'deduction_amount' AS BIGINT) END),
            ('taxable_deduction_amount',
             CASE WHEN r.has_fee_detail THEN TRY_CAST(r.body -> 'fee_detail' ->> 'taxable_deduction_amount' AS BIGINT) END),
            ('non_taxable_deduction_amount',
             CASE WHEN r.has_fee_detail THEN TRY_CAST(r.body -> 'fee_detail' ->> 'non_taxable_deduction_amount' AS BIGINT) END),
            ('receivable', TRY_CAST(r.body ->> 'sales_amount' AS BIGINT) - TRY_CAST(r.body ->> 'payment_fee' AS BIGINT)),
            ('campaign_coupon_fee', TRY_CAST(r.body ->> 'campaign_coupon_fee' AS BIGINT))
        ) v(component, amount)
    ) p
)
SELECT 'stores' AS source, l.business_date, l.sales_channel_id AS store_code, l.department,
       l.number AS doc_id, s.event AS doc_kind,
       CASE WHEN s.event = 'cancel' THEN l.number END AS original_doc_id,
       s.tender, s.tender_name, s.tax_rate, s.amount,
       CASE WHEN s.event = 'sale' AND l.folded THEN 'net of a cancellation before recognition' END AS reason,
       NULL AS description, l.revision, l.source_file, 'orders[' || l.source_index || ']' AS source_rows
FROM split s JOIN labelled l USING (business_date, order_id, event)
WHERE s.amount <> 0
UNION ALL
SELECT 'stores', l.business_date, l.sales_channel_id, l.department, l.number, 'payment_fee', l.number,
       f.tender, f.tender_name, NULL, f.amount, f.event, NULL, l.revision, l.source_file,
       'orders[' || l.source_index || '].transactions'
FROM fees f JOIN labelled l USING (business_date, order_id, event)
WHERE f.amount <> 0
UNION ALL
SELECT 'stores', business_date, NULL, '', remittance_id,
       CASE component WHEN 'campaign_coupon_fee' THEN 'campaign_coupon' ELSE 'payout' END,
       NULL, NULL, NULL, NULL, amount, component, NULL, revision, source_file,
       'remittances[' || source_index || ']'
FROM payout_parts
WHERE amount IS NOT NULL AND amount <> 0;
