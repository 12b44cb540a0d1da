-- One row per ingest or nightly run.
create table if not exists ingest_runs (
    run_id               varchar primary key,
    started_at           timestamptz not null,
    finished_at          timestamptz,
    inbox                varchar not null,
    records_found        integer,
    records_new          integer,   -- accepted into the lake this run
    records_unchanged    integer,   -- already ingested with identical content: nothing added
    records_quarantined  integer,   -- rejected this run, strays included
    records_failed       integer,   -- internal errors: left in the inbox, retried next run
    records_preprocessed integer,   -- recordings whose beats were (re)derived this run
    beats                integer,   -- beats derived this run
    scan_s               double,    -- wall time per stage, seconds
    ingest_s             double,
    validate_s           double,
    preprocess_s         double,
    publish_s            double
);
