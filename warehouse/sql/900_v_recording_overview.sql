-- Clinician-facing overview: one row per accepted recording with its annotation counts.
create or replace view recording_overview as
select
    r.record,
    r.start_time,
    round(r.duration_s / 60.0, 1)                                   as duration_min,
    r.fs_hz,
    array_to_string(r.leads, ', ')                                  as leads,
    array_to_string(r.comments, ' | ')                              as header_notes,
    r.n_annotations,
    count(a.sample) filter (where a.symbol in (
        'N','L','R','B','A','a','J','S','V','r','F','e','j','n','E','/','f','Q','?'))
                                                                    as n_reference_beats,
    r.ingested_at
from recordings r
left join annotations a using (record)
group by all;
