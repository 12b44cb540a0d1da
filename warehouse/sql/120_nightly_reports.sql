-- One row per night and record scored that night.
create table if not exists nightly_reports (
    run_id          varchar not null,      -- nightly_runs.run_id
    run_date        date not null,
    record          varchar not null,      -- recordings.record
    model_version   varchar not null,
    threshold       double not null,
    beats_scored    integer not null,
    beats_flagged   integer not null,
    share_flagged   double not null,       -- beats_flagged / beats_scored, 0-1
    mean_hr_bpm     double,                -- 60 / mean RR interval, beats per minute
    top_anomalies   struct(beat_index integer, time_s double, score double)[] not null,
                                           -- highest-scoring flagged beats, highest first
    scored_at       timestamptz not null,
    primary key (run_id, record)
);
