-- Every transaction the inputs hold, flattened to text, with its business day.
-- Inputs (temporary): _ab_docs(source_order, input, source_file, content) — transactions JSON
-- documents (files, API pages); _ab_csv — Orders report rows under acctsync's column names.
-- Outputs (temporary): _ab_txn, _ab_lines. Parameter: tz (the business timezone).
-- A transaction id seen more than once is taken from the input read last (highest source_order).
-- An Orders-report payment (Payment Reference ID, else Charge Identifier, else date/instrument/amount)
-- is one transaction; its rows are its items.
CREATE OR REPLACE TEMP TABLE _ab_csv_keyed AS
SELECT *, 'csv:' || trim(order_id) || ':' || coalesce(
           nullif(trim(payment_reference_id), ''), nullif(trim(charge_identifier), ''),
           trim(payment_date) || '/' || trim(payment_instrument_type) || '/' || trim(payment_amount)
       ) AS transaction_id
FROM _ab_csv;

CREATE OR REPLACE TEMP TABLE _ab_json_t AS
WITH docs AS (
    SELECT source_order, input, source_file, json_extract(content::JSON, '$.transactions[*]') AS list FROM _ab_docs
)
SELECT source_order, input, source_file, unnest(list) AS t, generate_subscripts(list, 1)::INTEGER AS source_row
FROM docs;

CREATE OR REPLACE TEMP TABLE _ab_all_txn AS
SELECT source_order, input, source_file, source_row,
       t->>'transactionId' AS transaction_id,
       t->>'transactionType' AS transaction_type,
       t->>'transactionDate' AS transaction_date,
       t->>'feedDate' AS feed_date,
       json_extract_string(t, '$.amount.amount') AS amount,
       json_extract_string(t, '$.amount.currencyCode') AS currency,
       t->>'paymentInstrumentType' AS payment_instrument_type,
       t->>'paymentInstrumentLast4Digits' AS payment_instrument_last4,
       coalesce(json_extract_string(t, '$.associatedTransactionDetails[*].associatedTransactionId'), [])
           AS associated_ids,
       t->>'invoiceNumber' AS invoice_number,
       t->>'chargeIdentifier' AS charge_identifier,
       t->>'legalEntityName' AS legal_entity_name,
       t AS payload
FROM _ab_json_t
UNION ALL
SELECT source_order, 'csv', source_file, min(source_row),
       transaction_id,
       CASE WHEN ab_money(any_value(payment_amount ORDER BY source_row)) < 0 THEN 'REFUND' ELSE 'CHARGE' END,
       any_value(coalesce(nullif(trim(payment_date), ''), trim(order_date)) ORDER BY source_row),
       NULL,
       any_value(payment_amount ORDER BY source_row),
       coalesce(nullif(trim(any_value(currency ORDER BY source_row)), ''), 'JPY'),
       any_value(payment_instrument_type ORDER BY source_row),
       NULL, [], NULL,
       nullif(trim(any_value(charge_identifier ORDER BY source_row)), ''),
       NULL, NULL
FROM _ab_csv_keyed
GROUP BY source_order, source_file, transaction_id;

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
WITH json_lines AS (
    SELECT j.source_order, j.source_file, j.source_row, j.t->>'transactionId' AS transaction_id,
           unnest(json_extract(j.t, '$.transactionLineItems[*]')) AS li,
           generate_subscripts(json_extract(j.t, '$.transactionLineItems[*]'), 1)::INTEGER AS line_no
    FROM _ab_json_t j
),
flat AS (
    SELECT source_order, source_file, source_row, transaction_id, line_no,
           li->>'orderId' AS order_id,
           li->>'orderLineItemId' AS order_line_item_id,
           li->>'shipmentId' AS shipment_id,
           li->>'shipmentDate' AS shipment_date,
           li->>'asin' AS asin,
           li->>'productTitle' AS product_title,
           li->>'unspsc' AS unspsc,
           NULL AS category,
           li->>'itemQuantity' AS item_quantity,
           json_extract_string(li, '$.totalAmount.amount') AS total_amount,
           json_extract_string(li, '$.tax.amount') AS tax_amount,
           li->>'taxRate' AS tax_rate,
           li->>'merchantLegalName' AS seller_name,
           li->>'refundReason' AS refund_reason,
           NULL AS gl_code,
           li->'businessOrderInfo' AS business_order_info,
           NULL AS order_status
    FROM json_lines
    UNION ALL
    SELECT source_order, source_file, source_row, transaction_id,
           row_number() OVER (PARTITION BY source_order, transaction_id ORDER BY source_row)::INTEGER,
           trim(order_id), NULL, NULL, NULL, nullif(trim(asin), ''), title, nullif(trim(unspsc), ''),
           nullif(trim(category), ''), nullif(trim(item_quantity), ''), item_net_total, item_tax,
           nullif(trim(tax_rate), ''), nullif(trim(seller_name), ''), NULL, nullif(trim(gl_code), ''), NULL,
           order_status
    FROM _ab_csv_keyed
)
SELECT f.*, t.business_date,
       -- the same item in another part of a split payment has the same key
       coalesce(nullif(f.order_line_item_id, ''),
                coalesce(nullif(f.asin, ''), f.product_title, '') || '#'
                || row_number() OVER (PARTITION BY f.source_order, f.transaction_id,
                                                   coalesce(nullif(f.asin, ''), f.product_title, '')
                                      ORDER BY f.line_no))
           || '@' || coalesce(f.shipment_id, '') AS line_key
FROM flat f
JOIN _ab_txn t ON t.transaction_id = f.transaction_id AND t.source_order = f.source_order
              AND t.source_file = f.source_file;
