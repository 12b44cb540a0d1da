-- Results of `beatwatch evaluate`: one row per protocol, metric and model version.
create table if not exists evaluations (
    protocol        varchar not null,   -- beatgan | interpatient | ecg5000
    metric          varchar not null,   -- e.g. roc_auc, average_precision, best_f1
    model_version   varchar not null,   -- model_versions.version
    value           double,             -- mean over folds
    std             double,             -- sample standard deviation over folds (0 for one)
    n_folds         integer not null,
    reference       double,             -- the published figure compared against, if any
    target          double,             -- our target, if any
    evaluated_at    timestamptz not null,
    report_path     varchar,            -- HTML report with ROC curve, histograms, examples
    primary key (protocol, metric, model_version)
);
