-- Every expectation result of every validated recording, accepted or not.
create table if not exists validations (
    run_id          varchar not null,
    record          varchar not null,
    suite           varchar not null,     -- recording | signal | annotations
    expectation     varchar not null,     -- GX expectation type
    column_name     varchar,
    success         boolean not null,
    observed_value  varchar not null,     -- JSON: observed value or unexpected examples
    validated_at    timestamptz not null
);
