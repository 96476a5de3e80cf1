-- 012: database sources (PostgreSQL). A database source has one manifest entry, named
-- postgres:<job>/<table> (or postgres:<job>/query), which is also its rows' _file and its quarantine's file.
-- cursor: the high-water mark of the source's cursor column (as text) after the last committed run;
-- full_at: when the last full read (every row read, rows deleted at the source dropped) committed.
ALTER TABLE etl_files ADD COLUMN cursor VARCHAR;
ALTER TABLE etl_files ADD COLUMN full_at TIMESTAMP;
