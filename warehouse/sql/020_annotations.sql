-- Reference annotations of accepted recordings, one row per annotation (beats and others).
create table if not exists annotations (
    record    varchar not null,    -- recordings.record
    sample    bigint not null,     -- sample index into the record
    time_s    double not null,     -- sample / fs_hz, seconds from the start of the record
    symbol    varchar not null,    -- MIT-BIH code: N, L, R, V, A, ... ; '+' rhythm change
    subtype   smallint not null,
    chan      smallint not null,   -- lead the annotation refers to (0-based)
    num       smallint not null,
    aux_note  varchar              -- e.g. '(AFIB' on rhythm changes; null when empty
);
