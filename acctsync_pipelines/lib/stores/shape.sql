-- The shape of an API response as DuckDB reads it, for read_input (source.py): no row when the text is not
-- JSON; else the JSON types of the top level and of its keys orders, remittances, sales_channels,
-- remittance_id and order_ids (NULL: absent), and the top level's keys (to see a key given twice).
-- Parameter (named): text.
SELECT json_type(text, ['$', '$.orders', '$.remittances', '$.sales_channels', '$.remittance_id', '$.order_ids'])
           AS types,
       json_keys(text) AS keys
FROM (SELECT $text AS text)
WHERE json_valid(text)
