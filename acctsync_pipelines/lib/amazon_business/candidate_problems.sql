-- Problems that keep a transaction from having a business day at all; they fail every day read.
-- Columns: input, source_file, source_row, line_no, field, value, transaction_id, problem.
SELECT input, source_file, source_row, NULL::INTEGER AS line_no, 'transaction_id' AS field,
       transaction_id AS value, NULL AS transaction_id, 'missing transaction id' AS problem
FROM _ab_all_txn WHERE coalesce(transaction_id, '') = ''
UNION ALL
SELECT input, source_file, source_row, NULL, 'transaction_date', transaction_date, transaction_id,
       CASE WHEN input = 'csv' THEN 'not a date (MM/DD/YYYY, YYYY/MM/DD or YYYY-MM-DD)'
            ELSE 'not an ISO 8601 date-time' END
FROM _ab_chosen WHERE local_date IS NULL
UNION ALL
SELECT input, source_file, source_row, NULL, 'transactionLineItems', (payload -> 'transactionLineItems')::VARCHAR,
       transaction_id, 'not a list of line items'
FROM _ab_all_txn WHERE json_type(payload, '$.transactionLineItems') NOT IN ('ARRAY', 'NULL')
UNION ALL
SELECT 'csv', source_file, source_row, NULL, 'payment_amount', disagreeing_amounts,
       transaction_id, 'rows of the same payment disagree on the payment amount'
FROM _ab_all_txn WHERE disagreeing_amounts IS NOT NULL
ORDER BY source_file, source_row
LIMIT 50
