"""The deployments ops run: ``nightly`` on a cron schedule, ``retrain`` from the UI (or its
own schedule), optionally ``ingest`` on an interval. ``beatwatch serve`` serves them from one
process; ``prefect.yaml`` declares the same for a process work pool."""

from __future__ import annotations

from datetime import timedelta

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from beatwatch.settings import Settings
from flows.ingest import ingest_flow
from flows.nightly import nightly_flow
from flows.retrain import retrain_flow


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The deployments for these settings (data folder, inbox and schedules)."""
    where = {"data_dir": str(settings.data_dir), "inbox": str(settings.inbox)}
    zone = settings.schedule.timezone
    served = [
        nightly_flow.to_deployment(
            name="nightly",
            schedules=[Cron(settings.schedule.nightly_cron, timezone=zone)],
            parameters=where,
            concurrency_limit=1,
            description="Ingest -> validate -> preprocess + score -> report, every night.",
            tags=["beatwatch"],
        ),
        retrain_flow.to_deployment(
            name="retrain",
            schedules=[Cron(settings.schedule.retrain_cron, timezone=zone)]
            if settings.schedule.retrain_cron
            else [],
            parameters={"data_dir": str(settings.data_dir)},
            concurrency_limit=1,
            description="Train a challenger; it replaces the champion only if at least as good.",
            tags=["beatwatch"],
        ),
    ]
    if settings.schedule.ingest_interval_min:
        served.append(
            ingest_flow.to_deployment(
                name="ingest",
                schedules=[
                    Interval(
                        timedelta(minutes=settings.schedule.ingest_interval_min), timezone=zone
                    )
                ],
                parameters=where,
                concurrency_limit=1,
                description="Ingest the inbox between nights.",
                tags=["beatwatch"],
            )
        )
    return served
