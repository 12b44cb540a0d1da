-- Every rejected delivery: what, why, and where its originals were moved (never deleted).
create table if not exists quarantine (
    quarantined_at   timestamptz not null,
    run_id           varchar not null,
    record           varchar,              -- record name, null for stray files
    kind             varchar not null,     -- e.g. truncated_signal, corrupt_header, duplicate
    reason           varchar not null,     -- for a person: the file and what is wrong
    failed_file      varchar not null,     -- the file at fault, as delivered
    original_paths   varchar[] not null,   -- every file moved, as delivered
    quarantine_path  varchar not null,     -- folder now holding them and reason.json
    content_sha256   varchar               -- identity of what was rejected
);
