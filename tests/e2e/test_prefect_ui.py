"""Ops retrain the model from the Prefect UI: a custom run of the ``retrain`` deployment, with
parameters typed into the form Prefect renders from the flow's signature, trains a challenger
with exactly those settings and records the champion/challenger decision in the warehouse.

Set ``BEATWATCH_TEST_SCREENSHOT_DIR=docs/images`` to refresh the README's screenshot.
"""

from __future__ import annotations

import os
import re
from contextlib import suppress
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("chromium_executable"),  # skip (or fail) before starting anything
]

RUN_TIMEOUT_S = 300.0
"""From submitting the form to the flow run's end (a shrunk training takes ~40 s)."""
SCREENSHOT_NAME = "prefect-retrain.png"

EPOCHS = 3
LATENT_DIM = 6
"""Both differ from the flow's defaults (10, 8) and from the demo's training (2 epochs)."""


def screenshot_dir() -> Path | None:
    """``BEATWATCH_TEST_SCREENSHOT_DIR``, where to save a copy of the screenshot, if set."""
    value = os.environ.get("BEATWATCH_TEST_SCREENSHOT_DIR")
    return Path(value).resolve() if value else None


def form_field(page: Page, label: str) -> Locator:
    """The input of the form field labelled ``label`` in a Prefect form.

    The labels' ``for`` attributes do not point at the inputs, so ``get_by_label`` finds
    nothing: the field is the labelled block (``.p-label``) holding exactly that label text.
    Parameters are labelled ``<name> (Optional)`` when they have a default.
    """
    text = re.compile(rf"^{re.escape(label)}( \(Optional\))?$")
    block = page.locator(".p-label").filter(has=page.get_by_text(text))
    return block.locator("input")


def start_custom_retrain(page: Page, ui_url: str, run_name: str) -> None:
    """Deployments -> retrain -> Run -> Custom run; name the run, set the parameters, submit."""
    page.goto(f"{ui_url}/deployments")
    deployment_link = page.get_by_role("link", name="retrain", exact=True).and_(
        page.locator("[href*='/deployments/deployment/']")  # not the flow's link, same name
    )
    deployment_link.click()
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("button", name="Custom run").click()
    page.wait_for_url(re.compile(r"/deployments/deployment/[^/]+/run"))

    epochs, latent_dim = form_field(page, "epochs"), form_field(page, "latent_dim")
    expect(epochs).to_have_value("10")  # the flow's defaults, from its JSON schema
    expect(latent_dim).to_have_value("8")
    form_field(page, "Run Name").fill(run_name)
    epochs.fill(str(EPOCHS))
    latent_dim.fill(str(LATENT_DIM))
    page.get_by_role("button", name="Submit").click()
    # Once created, the UI leaves the form for the deployment's page.
    page.wait_for_url(re.compile(r"/deployments/deployment/[^/]+(\?.*)?$"))


def screenshot_run_parameters(page: Page, ui_url: str, flow_run_id: str, paths: list[Path]):
    """The flow run's page, Parameters tab open: state, timeline and the values submitted."""
    page.goto(f"{ui_url}/runs/flow-run/{flow_run_id}")
    expect(page.get_by_text("Completed", exact=True).first).to_be_visible()
    # The run page's tabs are list items in a tablist, without the ARIA role "tab".
    page.get_by_role("tablist").get_by_text("Parameters", exact=True).click()
    parameters = page.get_by_role("tabpanel").filter(has_text='"epochs"')
    expect(parameters).to_contain_text(f'"epochs": {EPOCHS}')
    expect(parameters).to_contain_text(f'"latent_dim": {LATENT_DIM}')
    # Let the timeline finish drawing; a UI still polling the API does not spoil the picture.
    with suppress(PlaywrightTimeoutError):
        page.wait_for_load_state("networkidle", timeout=5_000)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path)


def test_custom_retrain_run_from_the_ui_trains_with_the_typed_parameters(
    served_deployments, page: Page, tmp_path: Path
) -> None:
    served = served_deployments
    ui_url = served.server.url
    run_name = f"e2e-retrain-{tmp_path.name}"

    start_custom_retrain(page, ui_url, run_name)
    run = served.finished_flow_run(run_name, RUN_TIMEOUT_S)

    assert run.state.is_completed(), (
        f"flow run {run_name!r} ended {run.state!r}\n{served.diagnostics()}"
    )
    assert str(run.deployment_id) == served.retrain_deployment_id
    assert run.parameters["epochs"] == EPOCHS
    assert run.parameters["latent_dim"] == LATENT_DIM

    shots = [tmp_path / SCREENSHOT_NAME]
    if (docs_dir := screenshot_dir()) is not None:
        shots.append(docs_dir / SCREENSHOT_NAME)
    screenshot_run_parameters(page, ui_url, str(run.id), shots)
    print(f"screenshots: {', '.join(map(str, shots))}")

    with duckdb.connect(str(served.data_dir / "state" / "beatwatch.duckdb"), read_only=True) as con:
        models = con.execute(
            "select version, status, decision, compared_with,"
            " (config->>'$.train.epochs')::int, (config->>'$.model.latent_dim')::int"
            " from model_versions where purpose = 'scoring' order by created_at"
        ).fetchall()
        new = con.execute(
            "select version from model_versions where config->>'$.run_id' = ?", [str(run.id)]
        ).fetchall()
    assert len(new) == 1, f"flow run {run.id} registered {len(new)} models: {models}"
    by_version = {m[0]: m for m in models}
    _, status, decision, compared_with, epochs, latent_dim = by_version[new[0][0]]
    assert (epochs, latent_dim) == (EPOCHS, LATENT_DIM)
    assert compared_with == models[0][0], models  # the demo's first model, the champion
    assert (decision, status) in {("promoted", "champion"), ("kept as challenger", "challenger")}
    assert sum(m[1] == "champion" for m in models) == 1, models
