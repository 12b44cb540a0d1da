"""End-to-end tier: a real Prefect server, ``beatwatch serve`` and a headless Debian chromium.

Every service runs as a subprocess in its own session (process group), logs to a file in the
session's tmp dir and is stopped in the fixture's finaliser, failed test or not. A data folder
with a champion comes from ``beatwatch demo`` with a shrunk training configuration.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
"""The virtualenv's bin folder: ``beatwatch`` and ``prefect`` live beside this Python."""

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium (``make chromium`` installs it); Playwright never downloads a browser."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these chromium keeps knocking on the closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

FAST_TRAINING_ENV = {
    "BEATWATCH_TRAINING__EPOCHS": "2",
    "BEATWATCH_TRAINING__MAX_TRAIN_BEATS": "2000",
}
"""A shrunk training: the test checks the plumbing, not the model's quality."""

DEMO_TIMEOUT_S = 300.0
SERVER_START_TIMEOUT_S = 90.0
DEPLOYMENT_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0

T = TypeVar("T")


def log_tail(path: Path, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file (empty if it does not exist yet)."""
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    diagnostics: Callable[[], str] = str,
    interval_s: float = 1.0,
) -> T:
    """Call ``probe`` every ``interval_s`` seconds until it returns something other than None.

    Fails the test after ``timeout_s`` seconds with ``what`` and the ``diagnostics`` text.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n{diagnostics()}")
        time.sleep(interval_s)


def subprocess_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment for a subprocess: its own Prefect home, no telemetry,
    no API URL inherited (each service is told where the server is), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        GX_ANALYTICS_ENABLED="false",
    )
    env.update(extra)
    return env


@dataclass
class Service:
    """A long-running subprocess started by a fixture; its output goes to ``log``."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], log: Path) -> Service:
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches its children
            )
        return cls(name, process, log)

    def describe(self, lines: int = 60) -> str:
        """Exit status (if it exited) and the tail of its log, for failure messages."""
        status = self.process.poll()
        state = "running" if status is None else f"exited with status {status}"
        return f"--- {self.name} ({state}), last lines of {self.log}:\n{log_tail(self.log, lines)}"

    def check_running(self) -> None:
        """Fail the test now if the process has died."""
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} stopped unexpectedly\n{self.describe()}")

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after ``STOP_TIMEOUT_S`` seconds."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT_S)
        # Children (e.g. a flow run started by serve) may outlive a leader that exited.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrefectServer:
    """A Prefect server (API and UI) on localhost."""

    service: Service
    url: str
    """The UI's root, e.g. ``http://127.0.0.1:4321``."""

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def wait_until_healthy(self, timeout_s: float = SERVER_START_TIMEOUT_S) -> PrefectServer:
        """Wait until ``/api/health`` answers (fails the test after ``timeout_s`` seconds)."""
        import httpx

        def healthy() -> bool | None:
            self.service.check_running()
            try:
                return httpx.get(f"{self.api_url}/health", timeout=5).is_success or None
            except httpx.TransportError:
                return None

        wait_until(
            healthy,
            timeout_s=timeout_s,
            what=f"{self.api_url}/health",
            diagnostics=self.service.describe,
        )
        return self

    @contextmanager
    def client(self) -> Iterator[SyncPrefectClient]:
        """A synchronous Prefect client of this server."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with (
            temporary_settings({PREFECT_API_URL: self.api_url}),
            get_client(sync_client=True) as client,
        ):
            yield client


@dataclass
class ServedDeployments:
    """``beatwatch serve`` running against ``server`` for the data folder ``data_dir``."""

    server: PrefectServer
    service: Service
    data_dir: Path
    retrain_deployment_id: str

    def diagnostics(self) -> str:
        """Both services' state and the tails of their logs."""
        return f"{self.service.describe(80)}\n{self.server.service.describe(30)}"

    def finished_flow_run(self, run_name: str, timeout_s: float) -> FlowRun:
        """The flow run named ``run_name`` once in a final state; fails the test after
        ``timeout_s`` seconds with its last state and both services' output."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

        by_name = FlowRunFilter(name=FlowRunFilterName(any_=[run_name]))
        seen: list[FlowRun] = []

        def final_run() -> FlowRun | None:
            self.service.check_running()
            with self.server.client() as client:
                runs = client.read_flow_runs(flow_run_filter=by_name)
            seen[:] = runs
            return runs[0] if runs and runs[0].state and runs[0].state.is_final() else None

        def diagnostics() -> str:
            state = f"last state {seen[0].state!r}" if seen else "never created"
            return f"flow run {run_name!r}: {state}\n{self.diagnostics()}"

        return wait_until(
            final_run,
            timeout_s=timeout_s,
            what=f"flow run {run_name!r} to finish",
            diagnostics=diagnostics,
            interval_s=2.0,
        )


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Debian's chromium; skipped without it (failed under ``CI=true``)."""
    if not CHROMIUM.is_file():
        message = (
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
            "(`make chromium`, or `apt-get install chromium chromium-driver`)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data folder, Prefect homes and logs of the session's services."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def demo_data_dir(e2e_dir: Path) -> Path:
    """A data folder after ``beatwatch demo``: 4 synthetic recordings ingested and scored by
    a first model, the champion (its own ephemeral Prefect server, shrunk training)."""
    data = e2e_dir / "data"
    log = e2e_dir / "demo.log"
    env = subprocess_env(e2e_dir / "prefect-demo", **FAST_TRAINING_ENV)
    with log.open("wb") as out:
        try:
            done = subprocess.run(
                [str(BIN / "beatwatch"), "demo", "--data-dir", str(data)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=DEMO_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"beatwatch demo took over {DEMO_TIMEOUT_S:.0f} s\n{log_tail(log)}")
    if done.returncode != 0:
        pytest.fail(f"beatwatch demo exited with status {done.returncode}:\n{log_tail(log)}")
    return data


@pytest.fixture(scope="session")
def prefect_server(e2e_dir: Path) -> Iterator[PrefectServer]:
    """``prefect server start`` on a free localhost port; stopped afterwards.

    Started, not waited for: call ``wait_until_healthy()``. Requested before the slow
    ``demo_data_dir``, the server starts while the demo runs.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = subprocess_env(e2e_dir / "prefect-server", PREFECT_UI_API_URL=f"{url}/api")
    argv = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    service = Service.start("prefect server", argv, env, e2e_dir / "prefect-server.log")
    try:
        yield PrefectServer(service, url)
    finally:
        service.stop()


@pytest.fixture(scope="session")
def served_deployments(
    prefect_server: PrefectServer, demo_data_dir: Path, e2e_dir: Path
) -> Iterator[ServedDeployments]:
    """``beatwatch serve`` for the demo's data folder, its ``retrain`` deployment registered."""
    from prefect.exceptions import ObjectNotFound

    prefect_server.wait_until_healthy()
    env = subprocess_env(
        e2e_dir / "prefect-serve",
        PREFECT_API_URL=prefect_server.api_url,
        PREFECT_RUNNER_POLL_FREQUENCY="2",  # picks a new run up within 2 s (default 10 s)
        **FAST_TRAINING_ENV,
    )
    argv = [str(BIN / "beatwatch"), "serve", "--data-dir", str(demo_data_dir)]
    service = Service.start("beatwatch serve", argv, env, e2e_dir / "serve.log")

    def retrain_deployment() -> str | None:
        service.check_running()
        try:
            with prefect_server.client() as client:
                return str(client.read_deployment_by_name("retrain/retrain").id)
        except ObjectNotFound:
            return None

    try:
        deployment_id = wait_until(
            retrain_deployment,
            timeout_s=DEPLOYMENT_TIMEOUT_S,
            what="the retrain deployment",
            diagnostics=lambda: f"{service.describe()}\n{prefect_server.service.describe(30)}",
        )
        yield ServedDeployments(prefect_server, service, demo_data_dir, deployment_id)
    finally:
        service.stop()


@pytest.fixture(scope="session")
def browser(chromium_executable: Path) -> Iterator[Browser]:
    """Headless Debian chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A fresh 1400x1000 page; what it last showed is saved to ``tmp_path`` (last-page.png,
    last-page.html), to see where a failed test stood."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        try:
            page.screenshot(path=tmp_path / "last-page.png")
            (tmp_path / "last-page.html").write_text(page.content())
            print(f"last page ({page.url}) saved in {tmp_path}")
        finally:
            context.close()
