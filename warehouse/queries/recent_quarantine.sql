-- The latest quarantine entries, newest first.
select quarantined_at, coalesce(record, '-') as record, kind, reason, quarantine_path
from quarantine
order by quarantined_at desc
limit ?;
