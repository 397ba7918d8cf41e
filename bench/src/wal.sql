-- Benchmark for an embedded database (bench/bench-src.sh): a table in WAL
-- mode filled by two inserts (one in a transaction), two indexes, joins
-- and aggregates, updates and deletes.  Prints checksums.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE acct(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER, kind INTEGER);
CREATE TABLE xfer(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO acct SELECT i, 'owner' || (i * 7919 % 1000), (i * 104729) % 100000, i % 13 FROM c;
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000)
INSERT INTO xfer SELECT i, 1 + (i * 31337) % 20000, 1 + (i * 7331) % 20000, i % 500 FROM c;
COMMIT;
CREATE INDEX xfer_src ON xfer(src);
CREATE INDEX acct_owner ON acct(owner);
SELECT count(*), sum(amount) FROM xfer JOIN acct ON acct.id = xfer.src WHERE acct.kind = 3;
SELECT owner, sum(balance) AS b FROM acct GROUP BY owner ORDER BY b DESC LIMIT 3;
UPDATE acct SET balance = balance + (SELECT coalesce(sum(amount), 0) FROM xfer WHERE src = acct.id)
WHERE kind < 4;
DELETE FROM xfer WHERE amount < 50;
SELECT count(*), sum(balance), max(balance) FROM acct;
SELECT count(*), sum(src * dst % 1000) FROM xfer;
PRAGMA wal_checkpoint(TRUNCATE);
