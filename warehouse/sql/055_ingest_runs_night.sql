-- The night a nightly run belongs to (null for a plain ingest run): a night killed and run
-- again has two runs, and nightly_runs counts what both accepted.
alter table ingest_runs add column if not exists run_date date;
