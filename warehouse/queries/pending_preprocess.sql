-- Accepted recordings whose beats are missing or were made with other settings or code.
select r.record, r.signal_path, r.annotation_path, r.fs_hz, r.leads
from recordings r
left join beat_sets b using (record)
where b.preprocess_key is distinct from ?
order by r.record;
