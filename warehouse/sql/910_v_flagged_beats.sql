-- Clinician-facing: every flagged beat with the context to judge it. One row per flagged
-- beat and scoring model; filter on run_date for one night (see docs/warehouse.md).
create or replace view flagged_beats as
-- Each score row carries the beat's context as it was when scored, so a night's flagged beats
-- stay as they were after the recording's beats are re-derived.
with scored as (
    select
        s.*,
        60.0 / avg(s.rr_prev_s) over (
            partition by s.run_date, s.record, s.model_version, s.preprocess_key
            order by s.beat_index
            rows between 5 preceding and 5 following
        ) as hr_around_bpm
    from beat_scores s
)
select
    s.run_date,
    s.record,
    array_to_string(r.comments, ' | ')                              as patient_notes,
    s.beat_index,
    s.time_s,
    to_microseconds(cast(round(s.time_s * 1e6) as bigint))         as time_into_recording,
    r.start_time + to_microseconds(cast(round(s.time_s * 1e6) as bigint))
                                                                    as wall_clock,
    s.score,
    s.relative_score,
    s.shape_z,
    s.timing_z,
    s.threshold,
    s.threshold_rule,
    s.rr_prev_s,
    s.rr_next_s,
    round(60.0 / s.rr_prev_s, 1)                                    as hr_instant_bpm,
    round(s.hr_around_bpm, 1)                                       as hr_around_bpm,
    s.ref_symbol,
    s.aami_class,
    s.lead,
    s.model_version,
    s.run_id
from scored s
join recordings r using (record)
where s.flagged;
