-- Keep what the inbox files just read hold: forget the kept rows of the files in $files (read again, or
-- gone from the inbox), then keep _ab_parsed_* (see parse.sql) and one row per file read (_ab_read:
-- source_file, size_bytes, mtime_ns, digest, parse_key, error; a file that could not be read has its
-- error and no rows).
DELETE FROM raw.amazon_business_files WHERE list_contains($files, source_file);
DELETE FROM raw.amazon_business_file_transactions WHERE list_contains($files, source_file);
DELETE FROM raw.amazon_business_file_line_items WHERE list_contains($files, source_file);
DELETE FROM raw.amazon_business_file_invoices WHERE list_contains($files, source_file);

INSERT INTO raw.amazon_business_file_transactions BY NAME SELECT * EXCLUDE (source_order) FROM _ab_parsed_txn;
INSERT INTO raw.amazon_business_file_line_items BY NAME SELECT * EXCLUDE (source_order) FROM _ab_parsed_lines;
INSERT INTO raw.amazon_business_file_invoices BY NAME SELECT * EXCLUDE (source_order) FROM _ab_parsed_inv;

INSERT INTO raw.amazon_business_files
SELECT r.source_file, r.size_bytes, r.mtime_ns, r.digest, r.parse_key, r.error,
       (SELECT count(*) FROM _ab_parsed_txn t WHERE t.source_file = r.source_file), now()
FROM _ab_read r;
