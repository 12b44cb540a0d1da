-- One row per accepted recording (a WFDB record that passed every expectation suite).
create table if not exists recordings (
    record           varchar primary key,      -- WFDB record name, e.g. '100'
    fs_hz            double not null,          -- sampling rate per lead, Hz
    n_samples        bigint not null,          -- samples per lead
    duration_s       double not null,          -- n_samples / fs_hz, seconds
    n_leads          integer not null,
    leads            varchar[] not null,       -- lead names in header order, e.g. [MLII, V1]
    units            varchar[] not null,       -- physical unit per lead, e.g. mV
    adc_gains        double[] not null,        -- ADC units per physical unit, per lead
    baselines        integer[] not null,       -- ADC value of 0 physical units, per lead
    formats          varchar[] not null,       -- WFDB storage format per lead, e.g. 212
    start_time       timestamp,                -- wall-clock time of sample 0, if the header says
    comments         varchar[] not null,       -- header comment lines (age, sex, medication...)
    n_annotations    integer not null,         -- reference annotations (0 if none delivered)
    annotator        varchar,                  -- annotation file extension, e.g. atr; null if none
    content_sha256   varchar not null,         -- identity of the delivery (all files)
    signal_sha256    varchar not null,         -- identity of the samples alone
    source_files     struct(name varchar, bytes bigint, sha256 varchar)[] not null,
    source_dir       varchar not null,         -- folder the originals were delivered to
    signal_path      varchar not null,         -- lake Parquet: sample + one float32 column per lead
    annotation_path  varchar,                  -- lake Parquet of the annotations, if any
    ingested_at      timestamptz not null,
    run_id           varchar not null          -- ingest run that accepted it
);
