-- Beat sets the given model has not scored yet in another night: new or re-derived beats,
-- every beat set after a promotion, and those of the night being re-run ($run_date).
select b.record, b.beats_path
from beat_sets b
where not exists (
    select 1 from nightly_reports n
    where n.record = b.record
      and n.model_version = $model_version
      and n.scored_at >= b.created_at
      and n.run_date <> $run_date
)
order by b.record;
