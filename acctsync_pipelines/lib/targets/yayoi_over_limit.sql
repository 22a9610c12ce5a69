-- The descriptions and memos of temp table yayoi_render (yayoi_rows.sql) that may be longer than their byte
-- limits in the target's encoding: more UTF-8 bytes than the limit (no supported encoding takes more bytes
-- for a value than UTF-8), and more code points × $max_char_bytes than the limit. Only these are cut.
SELECT DISTINCT 'description' AS field, description AS text FROM yayoi_render
WHERE strlen(description) > $description_bytes AND length(description) * $max_char_bytes > $description_bytes
UNION
SELECT DISTINCT 'memo', memo FROM yayoi_render
WHERE strlen(memo) > $memo_bytes AND length(memo) * $max_char_bytes > $memo_bytes
