-- 適格請求書 details from the inputs (_ab_inv: API answers, JSON files' optional
-- invoiceDetailsByOrderLineItems), kept for each business day of the window ($days, $first_day,
-- $last_day) whose line items they describe; for one invoice, the input read last wins.
INSERT INTO raw.amazon_business_invoices
WITH items AS (
    SELECT DISTINCT business_date, order_id, order_line_item_id, shipment_id
    FROM raw.amazon_business_line_items
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
)
SELECT l.business_date, i.order_id, i.order_line_item_id, i.shipment_id, i.invoice_number, i.invoice_type,
       i.invoice_date, i.issuer_name, i.issuer_registration_number, i.seller_name, i.seller_registration_number,
       i.invoice_total, i.source_file
FROM _ab_inv i
JOIN items l ON l.order_id = i.order_id AND l.order_line_item_id = i.order_line_item_id
            AND l.shipment_id = i.shipment_id
QUALIFY row_number() OVER (PARTITION BY l.business_date, i.order_id, i.order_line_item_id, i.shipment_id,
                                        i.invoice_number
                           ORDER BY i.source_order DESC) = 1;

INSERT INTO raw.amazon_business_invoice_taxes
WITH numbers AS (
    SELECT DISTINCT business_date, invoice_number FROM raw.amazon_business_invoices
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
),
taxes AS (
    SELECT source_order, source_file, invoice_number, unnest(json_extract(details, '$.tax[*]')) AS tx FROM _ab_inv
)
SELECT n.business_date, t.invoice_number, t.tx->>'rate', json_extract_string(t.tx, '$.inclusiveTotal.amount'),
       json_extract_string(t.tx, '$.amount.amount'), t.source_file
FROM taxes t JOIN numbers n USING (invoice_number)
QUALIFY row_number() OVER (PARTITION BY n.business_date, t.invoice_number, t.tx->>'rate'
                           ORDER BY t.source_order DESC) = 1;
