-- The latest ingest runs, newest first.
select run_id, started_at, finished_at, records_found, records_new, records_unchanged,
       records_quarantined, records_failed
from ingest_runs
order by started_at desc
limit ?;
