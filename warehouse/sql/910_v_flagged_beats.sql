-- Clinician-facing: every flagged beat with the context to judge it. One row per flagged
-- beat and scoring model; filter on run_date for one night (see docs/warehouse.md).
create or replace view flagged_beats as
with beat_context as (
    select
        b.*,
        60.0 / avg(b.rr_prev_s) over (
            partition by b.record order by b.beat_index
            rows between 5 preceding and 5 following
        ) as hr_around_bpm
    from beats b
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
    b.rr_prev_s,
    b.rr_next_s,
    round(60.0 / b.rr_prev_s, 1)                                    as hr_instant_bpm,
    round(b.hr_around_bpm, 1)                                       as hr_around_bpm,
    b.ref_symbol,
    b.aami_class,
    b.lead,
    s.model_version,
    s.run_id
from beat_scores s
join beat_context b using (record, beat_index)
join recordings r using (record)
where s.flagged;
