-- 適格請求書 details from the documents in _ab_docs (API answers, JSON files' optional
-- invoiceDetailsByOrderLineItems), kept for the line items of the business day (parameter day).
CREATE OR REPLACE TEMP TABLE _ab_inv AS
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
       d
FROM details
WHERE coalesce(d->>'invoiceNumber', '') <> '';

INSERT INTO raw.amazon_business_invoices
SELECT $day, i.order_id, i.order_line_item_id, i.shipment_id, i.invoice_number, i.invoice_type, i.invoice_date,
       i.issuer_name, i.issuer_registration_number, i.seller_name, i.seller_registration_number, i.invoice_total,
       i.source_file
FROM _ab_inv i
WHERE EXISTS (SELECT 1 FROM raw.amazon_business_line_items l
              WHERE l.business_date = $day AND l.order_id = i.order_id
                AND l.order_line_item_id = i.order_line_item_id AND l.shipment_id = i.shipment_id)
QUALIFY row_number() OVER (PARTITION BY i.order_id, i.order_line_item_id, i.shipment_id, i.invoice_number
                           ORDER BY i.source_order DESC) = 1;

INSERT INTO raw.amazon_business_invoice_taxes
WITH taxes AS (
    SELECT source_order, source_file, invoice_number, unnest(json_extract(d, '$.tax[*]')) AS tx FROM _ab_inv
)
SELECT $day, invoice_number, tx->>'rate', json_extract_string(tx, '$.inclusiveTotal.amount'),
       json_extract_string(tx, '$.amount.amount'), source_file
FROM taxes
WHERE invoice_number IN (SELECT invoice_number FROM raw.amazon_business_invoices WHERE business_date = $day)
QUALIFY row_number() OVER (PARTITION BY invoice_number, tx->>'rate' ORDER BY source_order DESC) = 1;
