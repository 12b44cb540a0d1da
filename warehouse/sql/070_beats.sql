-- One row per detected beat (its window, 320 float32 samples, stays in the lake Parquet).
create table if not exists beats (
    record      varchar not null,   -- recordings.record
    beat_index  integer not null,   -- 0-based, in time order within the record
    r_sample    bigint not null,    -- R peak, sample index at the recording's own rate
    time_s      double not null,    -- R peak, seconds from the start of the recording
    rr_prev_s   real,               -- RR interval before the beat, seconds (null for the first)
    rr_next_s   real,               -- RR interval after the beat, seconds (null for the last)
    lead        varchar not null,
    ref_symbol  varchar,            -- matched reference annotation (MIT-BIH code), if any
    aami_class  varchar             -- N, S, V, F or Q from ref_symbol; null if unmatched
);
