-- Every input flattened to text, each on its own (no business day, no choice between inputs yet), so an
-- inbox file's rows can be kept while it is unchanged (raw.amazon_business_file_*).
-- Inputs (temporary): _ab_docs(source_order, input, source_file, content) — transactions JSON documents
-- (files, API pages); _ab_csv — Orders report rows under acctsync's column names.
-- Outputs (temporary): _ab_parsed_txn, _ab_parsed_lines, _ab_parsed_inv.
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

CREATE OR REPLACE TEMP TABLE _ab_parsed_txn AS
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
       t AS payload,
       NULL::VARCHAR AS disagreeing_amounts
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
       NULL, NULL,
       CASE WHEN count(DISTINCT payment_amount) > 1
            THEN string_agg(DISTINCT payment_amount, ' / ' ORDER BY payment_amount) END
FROM _ab_csv_keyed
GROUP BY source_order, source_file, transaction_id;

CREATE OR REPLACE TEMP TABLE _ab_parsed_lines AS
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
SELECT f.*,
       -- the same item in another part of a split payment has the same key
       coalesce(nullif(f.order_line_item_id, ''),
                coalesce(nullif(f.asin, ''), f.product_title, '') || '#'
                || row_number() OVER (PARTITION BY f.source_order, f.transaction_id,
                                                   coalesce(nullif(f.asin, ''), f.product_title, '')
                                      ORDER BY f.line_no))
           || '@' || coalesce(f.shipment_id, '') AS line_key
FROM flat f;

-- 適格請求書 details (API answers, JSON files' optional invoiceDetailsByOrderLineItems).
CREATE OR REPLACE TEMP TABLE _ab_parsed_inv AS
WITH entries AS (
    SELECT source_order, source_file,
           unnest(json_extract(content::JSON, '$.invoiceDetailsByOrderLineItems[*]')) AS e
    FROM _ab_docs
),
details AS (
    SELECT source_order, source_file, e, unnest(json_extract(e, '$.invoiceDetails[*]')) AS d FROM entries
)
SELECT source_order, source_file,
       json_extract_string(e, '$.orderLineItem.orderId') AS order_id,
       json_extract_string(e, '$.orderLineItem.orderLineItemId') AS order_line_item_id,
       json_extract_string(e, '$.orderLineItem.shipmentId') AS shipment_id,
       d->>'invoiceNumber' AS invoice_number,
       d->>'invoiceType' AS invoice_type,
       d->>'invoiceDate' AS invoice_date,
       json_extract_string(d, '$.invoiceIssuer.name') AS issuer_name,
       json_extract_string(d, '$.invoiceIssuer.registrationNumber') AS issuer_registration_number,
       json_extract_string(d, '$.sellerInformation.name') AS seller_name,
       json_extract_string(d, '$.sellerInformation.registrationNumber') AS seller_registration_number,
       d->>'invoiceTotal' AS invoice_total,
       d AS details
FROM details
WHERE coalesce(d->>'invoiceNumber', '') <> '';
