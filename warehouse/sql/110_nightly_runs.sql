-- One row per night: what it did, with which model, and how long each stage took.
-- Re-running a night (same run_date) replaces its row.
create table if not exists nightly_runs (
    run_id              varchar primary key,   -- the Prefect flow run id
    run_date            date not null unique,  -- the night, in the configured time zone
    started_at          timestamptz not null,
    finished_at         timestamptz,
    status              varchar not null,      -- ok | scoring_failed (see note)
    model_version       varchar,               -- the champion that scored every beat of the night
    threshold           double,
    threshold_rule      varchar,
    records_new         integer,               -- recordings accepted into the lake this night
    records_quarantined integer,               -- deliveries rejected this night (see quarantine)
    records_failed      integer,               -- internal errors, retried next night
    records_scored      integer,
    beats_scored        integer,
    beats_flagged       integer,
    share_flagged       double,                -- beats_flagged / beats_scored, 0-1
    model_trained       varchar,               -- model version trained this night, if any
    report_path         varchar,               -- self-contained HTML report of the night
    ingest_s            double,                -- wall time per stage, seconds
    validate_s          double,
    preprocess_s        double,
    train_s             double,
    score_s             double,
    report_s            double,
    note                varchar                -- e.g. why scoring failed
);
