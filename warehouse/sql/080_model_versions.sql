-- Every model Beatwatch has trained. Exactly one has status 'champion': the model that
-- scores the night's beats. 'challenger': trained, not (yet) promoted. 'retired': former
-- champions and models trained only for an evaluation protocol.
create table if not exists model_versions (
    version           varchar primary key,     -- e.g. 20261122T013000Z-conv_ae-3f2a
    created_at        timestamptz not null,
    kind              varchar not null,        -- conv_ae | vae
    purpose           varchar not null,        -- scoring | evaluation:<protocol>
    status            varchar not null,        -- champion | challenger | retired
    training_records  varchar[] not null,      -- recordings the training beats came from
    training_beats    integer not null,        -- beats trained on (early-stopping split excluded)
    config            json not null,           -- model and training settings
    threshold         double not null,         -- reconstruction error above which a beat is flagged
    threshold_rule    varchar not null,        -- e.g. mean+3std of normal training error
    metrics           json,                    -- evaluation figures, e.g. {"roc_auc": 0.95}
    file_path         varchar not null,        -- weights and config (torch.save)
    file_sha256       varchar not null,        -- checked before every load
    promoted_at       timestamptz,             -- when it last became champion
    note              varchar
);
