-- One row per beat and scoring model: the beat's anomaly score and whether it was flagged.
-- Scores are stored raw, so a stricter threshold can be applied later in SQL (see
-- docs/warehouse.md). Each row carries the beat set it scored (preprocess_key) and the
-- beat's context at the time, so a night's scores stay whole when the recording's beats are
-- later re-derived (new settings or detector code): the new beats get rows of their own.
-- A beat scored again by the same model from the same beat set (a re-run night) is replaced:
-- the writer replaces those rows in one transaction (warehouse/writes.py), which keeps
-- (record, preprocess_key, beat_index, model_version) unique. No primary key: its index,
-- over every beat ever scored, made the table 2.7x bigger and each night's inserts slower.
create table if not exists beat_scores (
    record          varchar not null,     -- recordings.record
    beat_index      integer not null,     -- beats.beat_index: 0-based, in time order
    model_version   varchar not null,     -- model_versions.version that scored it
    r_sample        bigint not null,      -- R peak, sample index at the recording's own rate
    time_s          double not null,      -- R peak, seconds from the start of the recording
    score           double not null,      -- combined shape + timing score, in standard deviations
                                          -- of normal beats (~0 typical normal, higher = more abnormal)
    shape_z         double not null,      -- shape part: standardised log reconstruction error
    timing_z        double not null,      -- timing part: how early the beat came / the pause after (>= 0)
    recon_error     double not null,      -- autoencoder mean squared error, normalised units squared
    relative_score  double not null,      -- recon_error / the record's median recon_error (1 = typical)
    threshold       double not null,      -- threshold applied when it was scored
    threshold_rule  varchar not null,     -- percentile | mean_k_std (on score) | relative (on relative_score)
    flagged         boolean not null,     -- score (or relative_score) >= threshold
    run_id          varchar not null,     -- nightly_runs.run_id that scored it
    run_date        date not null,        -- the night it was scored
    scored_at       timestamptz not null,
    preprocess_key  varchar,              -- beat_sets.preprocess_key of the beats scored
    rr_prev_s       real,                 -- the beat's context when scored, as in beats:
    rr_next_s       real,                 --   RR intervals (s), the lead, the matched reference
    lead            varchar,              --   symbol and its AAMI class
    ref_symbol      varchar,
    aami_class      varchar
);
