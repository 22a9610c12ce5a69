-- Replace the raw rows of a window of business days ($days, $first_day, $last_day) with the candidates
-- of those days (_ab_txn, _ab_lines).
DELETE FROM raw.amazon_business_transactions
WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);
DELETE FROM raw.amazon_business_line_items
WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);
DELETE FROM raw.amazon_business_invoices
WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);
DELETE FROM raw.amazon_business_invoice_taxes
WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);

INSERT INTO raw.amazon_business_transactions
SELECT business_date, transaction_id, transaction_type, transaction_date, feed_date, amount, currency,
       payment_instrument_type, payment_instrument_last4, associated_ids, invoice_number, charge_identifier,
       legal_entity_name, input, source_file, source_row, payload, now()
FROM _ab_txn WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);

INSERT INTO raw.amazon_business_line_items
SELECT business_date, transaction_id, line_no, line_key, order_id, order_line_item_id, shipment_id, shipment_date,
       asin, product_title, unspsc, category, item_quantity, total_amount, tax_amount, tax_rate, seller_name,
       refund_reason, gl_code, business_order_info, order_status, source_file, source_row
FROM _ab_lines WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date);
