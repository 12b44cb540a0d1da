-- How each retrained model fared against the champion of its time, on the same held-out
-- beats (see beatwatch/promotion.py). Added columns: idempotent on older warehouses.
alter table model_versions add column if not exists compared_with varchar;       -- the champion it was compared with
alter table model_versions add column if not exists comparison_metric varchar;   -- roc_auc | normal_recon_error
alter table model_versions add column if not exists comparison_value double;     -- this model's figure
alter table model_versions add column if not exists champion_value double;       -- the champion's figure, same beats
alter table model_versions add column if not exists decision varchar;            -- first model | promoted | kept as challenger | promoted by hand | rolled back | restored by rollback
