-- One row per recording whose beats have been derived: which lead, which settings, and how
-- the detected beats compare with the reference annotations (where there are any).
create table if not exists beat_sets (
    record            varchar primary key,   -- recordings.record
    lead              varchar not null,      -- the lead the beats come from, e.g. MLII
    model_fs_hz       double not null,       -- rate of the beat windows, Hz
    window_samples    integer not null,      -- samples per beat window
    window_before_s   double not null,       -- window start before the R peak, seconds
    n_detected        integer not null,      -- R peaks found
    n_beats           integer not null,      -- beats with a whole window (rows in beats)
    n_reference       integer,               -- reference beat annotations; null without .atr
    matched           integer,               -- reference beats with a detection within 50 ms
    missed            integer,               -- reference beats without one (false negatives)
    extra             integer,               -- detections without a reference beat (false positives)
    beats_path        varchar not null,      -- lake Parquet with one window per beat
    preprocess_key    varchar not null,      -- settings + code that made it (SHA-256)
    created_at        timestamptz not null,
    run_id            varchar not null
);
