-- Headline numbers for `beatwatch status`.
select
    (select count(*) from recordings)                        as recordings,
    (select coalesce(sum(duration_s), 0) / 3600 from recordings) as hours,
    (select count(*) from annotations)                       as annotations,
    (select count(*) from quarantine)                        as quarantined,
    (select count(*) from validations where not success)     as failed_expectations,
    (select count(*) from ingest_runs)                       as runs;
