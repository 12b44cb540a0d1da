"""The retrain flow: train a challenger, compare it with the champion, promote or keep.

Its parameters are typed and bounded, so the Prefect UI renders and validates a form for a
custom run. Two retrains never run at once: the flow holds a slot of the global concurrency
limit :data:`RETRAIN_LIMIT` (limit 1, created by :func:`ensure_retrain_limit` before use,
never assumed), and the ``retrain`` deployment has a concurrency limit of 1 as well.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from pydantic import Field

from beatwatch.heap import keep_freed_memory
from beatwatch.retrain import RetrainOutcome, TrainingRequest, retrain
from beatwatch.settings import Settings, load_settings
from flows.ingest import current_run_id
from tasks.ingest import publish_warehouse
from warehouse import apply_schema, connect, run_lock

RETRAIN_LIMIT = "beatwatch-retrain"
"""Global concurrency limit (1 slot) held by every retrain."""


def ensure_retrain_limit() -> None:
    """Create (or reset to 1) the global concurrency limit that serialises retrains."""
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(RETRAIN_LIMIT, 1)


@task(name="records-of-nights", cache_policy=NO_CACHE)
def records_of_nights(settings: Settings, nights: list[date]) -> list[str]:
    """Recordings ingested by the nightly runs of ``nights``."""
    with connect(settings.work_db_path) as con:
        rows = con.execute(
            "select r.record from recordings r join nightly_runs n using (run_id)"
            " where list_contains(?, n.run_date) order by r.record",
            [nights],
        ).fetchall()
    if not rows:
        raise ValueError(f"no recordings were ingested on the nights {nights}")
    return [record for (record,) in rows]


@task(name="train-and-compare", cache_policy=NO_CACHE)
def train_and_compare(
    settings: Settings, request: TrainingRequest, run_id: str, tolerance: float
) -> RetrainOutcome:
    """Train the challenger on the chosen recordings, compare, promote if at least as good."""
    with connect(settings.work_db_path) as con:
        apply_schema(con)
    return retrain(
        settings.work_db_path,
        request,
        models_dir=settings.models_dir,
        run_id=run_id,
        tolerance=tolerance,
    )


@task(name="publish-if-idle", cache_policy=NO_CACHE)
def publish_if_idle(settings: Settings) -> bool:
    """Publish the new model's rows now, unless a night is running (it will publish them)."""
    with run_lock(settings.state_dir, wait=False) as free:
        if free:
            publish_warehouse(settings)
        return free


@flow(name="retrain")
def retrain_flow(
    epochs: Annotated[int, Field(ge=1, le=200)] = 10,
    learning_rate: Annotated[float, Field(gt=0, le=0.1)] = 6e-3,
    latent_dim: Annotated[int, Field(ge=1, le=128)] = 8,
    records: list[str] | None = None,
    nights: list[date] | None = None,
    threshold_rule: Literal["percentile", "mean_k_std", "relative"] = "percentile",
    threshold_value: Annotated[float, Field(gt=0)] = 98.0,
    promotion_tolerance: Annotated[float, Field(ge=0, le=0.2)] = 0.005,
    seed: Annotated[int, Field(ge=0)] = 0,
    data_dir: str | None = None,
    config_file: str | None = None,
) -> RetrainOutcome:
    """Retrain the scoring model; the new one becomes champion only if it is at least as
    good as the champion on the same held-out beats (see ``beatwatch.promotion``).

    (Google-style arguments: Prefect shows them as the help text of the UI's run form.)

    Args:
        epochs: Largest number of passes over the training beats (early stopping may end
            sooner).
        learning_rate: Peak Adam step size, cosine-annealed to 0 over the epochs.
        latent_dim: Size of the autoencoder's code (smaller: only normal shapes fit).
        records: Train on these recordings only, e.g. ["100", "101"] (default: all).
        nights: Train on the recordings ingested on these nights, e.g. ["2026-11-21"].
        threshold_rule: How the flagging threshold is set: percentile of held-out normal
            scores, mean_k_std of training normal scores, or relative to each record.
        threshold_value: The rule's parameter: percentile (0-100], k, or relative factor.
        promotion_tolerance: How much worse than the champion the new model may be and
            still replace it (ROC-AUC points, or a fraction of the reconstruction error).
        seed: Seed of the initial weights, the shuffles and the held-out split.
        data_dir: Beatwatch's data folder (default: BEATWATCH_DATA_DIR).
        config_file: Optional TOML settings file.
    """
    log = get_run_logger()
    keep_freed_memory()  # freed activations are reused, not faulted in again page by page
    settings = load_settings(
        config_file=None if config_file is None else Path(config_file),
        data_dir=None if data_dir is None else Path(data_dir),
    )
    training = settings.training.model_copy(
        update={
            "epochs": epochs,
            "learning_rate": learning_rate,
            "latent_dim": latent_dim,
            "threshold_rule": threshold_rule,
            "threshold_value": threshold_value,
            "seed": seed,
        }
    )
    ensure_retrain_limit()
    with concurrency(RETRAIN_LIMIT, occupy=1, strict=True, lease_duration=3600):
        chosen = set(records or [])
        if nights:
            chosen |= set(records_of_nights(settings, nights))
        request = TrainingRequest(
            training,
            tuple(sorted(chosen)) if chosen else None,
            note=f"retrain flow run {current_run_id()}",
        )
        outcome = train_and_compare(settings, request, current_run_id(), promotion_tolerance)
        published = publish_if_idle(settings)
    log.info("model %s: %s", outcome.version, outcome.decision)
    create_markdown_artifact(key="retrain-decision", markdown=decision_markdown(outcome, published))
    return outcome


def decision_markdown(outcome: RetrainOutcome, published: bool) -> str:
    """The retrain's decision as a Prefect artifact."""
    lines = [
        f"# Retrain: {outcome.decision}",
        "",
        "| | |",
        "|---|---|",
        f"| new model | `{outcome.version}` |",
        f"| champion before | `{outcome.champion_before or 'none'}` |",
        f"| trained on | {len(outcome.training_records)} recordings, "
        f"{outcome.train_seconds:.0f} s |",
        f"| held out for the comparison | {', '.join(outcome.held_out) or 'none'} |",
    ]
    c = outcome.comparison
    if c is not None:
        lines += [
            f"| metric | {c.metric} on {c.n_beats} beats |",
            f"| challenger | {c.challenger_value:.4f} |",
            f"| champion | {c.champion_value:.4f} |",
            f"| tolerance | {c.tolerance:g} |",
        ]
    lines += [
        "",
        "Published to the warehouse now."
        if published
        else "A night is running: it publishes the new model's rows when it ends.",
    ]
    return "\n".join(lines)
