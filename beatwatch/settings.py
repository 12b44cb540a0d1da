"""One settings object for the whole pipeline, built once at the entry point and passed down.

Values come from, in order of precedence: explicit keyword arguments (the CLI's
``--data-dir``/``--inbox``), environment variables prefixed ``BEATWATCH_``, an optional TOML
file (``BEATWATCH_CONFIG`` or ``--config``), then the defaults below. Nothing else in the code
base reads the environment.

Layout under the data root (stable names, scripts and schedulers depend on them)::

    <data>/inbox/             WFDB deliveries (override with --inbox / BEATWATCH_INBOX)
    <data>/lake/              Parquet lake: signals/, annotations/
    <data>/quarantine/        rejected originals, one folder per rejection with reason.json
    <data>/warehouse.duckdb   the published, read-only warehouse clinicians query
    <data>/state/             the pipeline's private working database and staging area
    <data>/models/            model files
    <data>/gx/                Great Expectations project (results, Data Docs)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

if TYPE_CHECKING:
    from beatwatch.preprocess import PreprocessConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package runs from (an editable install)."""

DEFAULT_DATA_DIR = REPO_ROOT / "data"

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF",
    "V1", "V2", "V3", "V4", "V5", "V6",
    "MLI", "MLII", "MLIII", "ML II", "D3",
    "ECG", "ECG1", "ECG2", "ECG3", "ECG4",
)  # fmt: skip
"""Lead names accepted by default: the 12 standard leads, modified limb leads (MIT-BIH), and
the generic names Holter exports use."""


class ValidationLimits(BaseModel):
    """Limits the Great Expectations suites check each recording against."""

    model_config = ConfigDict(frozen=True)

    allowed_fs_hz: tuple[float, ...] = (125.0, 128.0, 250.0, 256.0, 360.0, 500.0, 512.0, 1000.0)
    """Sampling rates in Hz a recording may have."""
    min_duration_s: float = Field(default=30.0, gt=0)
    """Shortest accepted recording, in seconds."""
    max_duration_s: float = Field(default=48 * 3600.0, gt=0)
    """Longest accepted recording, in seconds (48 h covers every Holter format)."""
    physical_limit_mv: float = Field(default=10.0, gt=0)
    """No sample may exceed this magnitude, in mV (surface ECG stays within a few mV)."""
    max_flat_s: float = Field(default=10.0, gt=0)
    """Longest run, in seconds, a lead may hold exactly the same value (a lead-off sign)."""
    allowed_leads: tuple[str, ...] = STANDARD_LEADS
    """Lead names a recording may use."""

    @model_validator(mode="after")
    def _check_ranges(self) -> ValidationLimits:
        if self.min_duration_s >= self.max_duration_s:
            raise ValueError(
                f"min_duration_s ({self.min_duration_s}) must be below "
                f"max_duration_s ({self.max_duration_s})"
            )
        if not self.allowed_fs_hz or any(fs <= 0 for fs in self.allowed_fs_hz):
            raise ValueError("allowed_fs_hz must list positive sampling rates in Hz")
        if not self.allowed_leads:
            raise ValueError("allowed_leads must not be empty")
        return self


class PreprocessSettings(BaseModel):
    """How recordings become beats; see ``beatwatch.preprocess.PreprocessConfig``."""

    model_config = ConfigDict(frozen=True)

    model_fs_hz: float = Field(default=360.0, gt=0)
    """Sampling rate every lead is resampled to, Hz (the model's rate)."""
    window_before_s: float = Field(default=140 / 360, ge=0)
    """Beat window start before the R peak, seconds (default: 140 samples at 360 Hz)."""
    window_after_s: float = Field(default=180 / 360, gt=0)
    """Beat window end after the R peak, seconds (default: 180 samples at 360 Hz)."""
    denoise_method: Literal["bandpass", "fft_wiener", "none"] = "bandpass"
    highpass_hz: float = Field(default=0.5, gt=0)
    lowpass_hz: float = Field(default=40.0, gt=0)
    notch_hz: float | None = None
    """Mains frequency to notch (50 or 60 Hz); ``None``: no notch."""
    lead_preference: tuple[str, ...] = ("MLII", "II", "ML II", "ECG", "ECG1", "V5", "V1")
    """The first of these leads a recording has is used; else its first lead."""
    workers: int = Field(default=2, ge=1)
    """Recordings preprocessed in parallel (threads)."""

    def config(self) -> PreprocessConfig:
        """The domain configuration these settings describe (validated when built)."""
        from beatwatch.beats import BeatWindow
        from beatwatch.denoise import DenoiseConfig
        from beatwatch.preprocess import PreprocessConfig

        return PreprocessConfig(
            denoise=DenoiseConfig(
                method=self.denoise_method,
                highpass_hz=self.highpass_hz,
                lowpass_hz=self.lowpass_hz,
                notch_hz=self.notch_hz,
            ),
            window=BeatWindow(
                fs_hz=self.model_fs_hz, before_s=self.window_before_s, after_s=self.window_after_s
            ),
            lead_preference=self.lead_preference,
        )


class TrainingSettings(BaseModel):
    """How the nightly flow trains a scoring model (defaults: the tuned MIT-BIH settings).

    Ops can override any of these per run from the Prefect UI (the ``retrain`` flow).
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["conv_ae", "vae"] = "conv_ae"
    latent_dim: int = Field(default=8, ge=1)
    """Size of the autoencoder's code."""
    channels: tuple[int, ...] = (8, 16, 32, 64)
    """Feature maps of the encoder's convolutions."""
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=128, ge=1)
    learning_rate: float = Field(default=6e-3, gt=0)
    """Peak Adam step size (cosine-annealed to 0 over the epochs)."""
    max_train_beats: int | None = Field(default=60_000, ge=2)
    """Cap on training beats (a seeded random subset); normal beats are very redundant."""
    seed: int = Field(default=0, ge=0)
    threshold_rule: Literal["percentile", "mean_k_std", "relative"] = "percentile"
    """How the flagging threshold is set: a percentile of held-out normal scores, mean + k
    std of training normal scores, or per record (a beat's reconstruction error relative to
    its record's median error)."""
    threshold_value: float = Field(default=98.0, gt=0)
    """The rule's parameter: the percentile (0-100], k, or the relative factor."""


class ScoringSettings(BaseModel):
    """How the nightly flow scores beats and reports them."""

    model_config = ConfigDict(frozen=True)

    top_beats: int = Field(default=8, ge=0)
    """Top flagged beats of the night drawn in the report (window, reconstruction, strip)."""
    top_per_record: int = Field(default=5, ge=1)
    """Top anomalies listed per record in ``nightly_reports``."""
    strip_s: float = Field(default=6.0, gt=0)
    """Length of the signal strip drawn around each top beat, seconds."""


class ScheduleSettings(BaseModel):
    """When the deployments served by ``beatwatch serve`` (and in ``prefect.yaml``) run."""

    model_config = ConfigDict(frozen=True)

    timezone: str = "UTC"
    """IANA time zone of the schedules; its calendar date also names a night
    (``nightly_runs.run_date``)."""
    nightly_cron: str = "0 2 * * *"
    """When the nightly flow runs (default 02:00)."""
    retrain_cron: str | None = None
    """When the retrain flow runs on its own, e.g. ``"0 12 * * 0"``; None: from the UI only."""
    ingest_interval_min: float | None = None
    """Also ingest the inbox every this many minutes; None: only in the nightly run."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(zone)
        except Exception as exc:
            raise ValueError(f"unknown time zone {zone!r}: use an IANA name") from exc
        return zone


class Settings(BaseSettings):
    """Where Beatwatch keeps its data and how strict it is; see the module docstring."""

    model_config = SettingsConfigDict(
        env_prefix="BEATWATCH_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
    )

    data_dir: Path = DEFAULT_DATA_DIR
    """Root of everything Beatwatch writes (``BEATWATCH_DATA_DIR``)."""
    inbox: Path = Field(default_factory=lambda data: Path(data["data_dir"]) / "inbox")
    """Folder scanned for new WFDB records (``BEATWATCH_INBOX``); default ``<data_dir>/inbox``."""
    annotator: str = "atr"
    """Extension of the reference annotation file read beside each record."""
    inbox_settle_s: float = Field(default=1.0, ge=0)
    """A delivery with a file that changed within this many seconds of the scan is left in
    the inbox for the next run (still being written)."""
    validation: ValidationLimits = ValidationLimits()
    preprocess: PreprocessSettings = PreprocessSettings()
    training: TrainingSettings = TrainingSettings()
    scoring: ScoringSettings = ScoringSettings()
    schedule: ScheduleSettings = ScheduleSettings()

    @field_validator("data_dir", "inbox", mode="after")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments beat the environment, which beats the TOML file (if any).
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    # Derived locations: fixed names under the data root, not separately configurable.
    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def warehouse_path(self) -> Path:
        """The published, read-only warehouse clinicians open."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def work_db_path(self) -> Path:
        """The pipeline's private read-write database, published to ``warehouse_path``."""
        return self.state_dir / "beatwatch.duckdb"

    @property
    def staging_dir(self) -> Path:
        return self.state_dir / "staging"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def reports_dir(self) -> Path:
        """Nightly and evaluation reports (self-contained HTML)."""
        return self.data_dir / "reports"

    @property
    def gx_dir(self) -> Path:
        """Great Expectations project: stored results and Data Docs (``uncommitted/``)."""
        return self.data_dir / "gx"


def load_settings(
    *,
    config_file: Path | None = None,
    data_dir: Path | None = None,
    inbox: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings once, at an entry point.

    Parameters
    ----------
    config_file
        Optional TOML file with the same keys as :class:`Settings` (a ``[validation]`` table
        for the limits). Environment variables override it.
    data_dir, inbox
        Explicit overrides (the CLI's ``--data-dir`` and ``--inbox``); ``None`` keeps the
        value from the environment, the TOML file or the default.
    overrides
        Further explicit field values, e.g. ``validation=ValidationLimits(...)`` in tests.
    """
    kwargs: dict[str, Any] = dict(overrides)
    if data_dir is not None:
        kwargs["data_dir"] = data_dir
    if inbox is not None:
        kwargs["inbox"] = inbox
    if config_file is None:
        return Settings(**kwargs)
    if not config_file.is_file():
        raise FileNotFoundError(f"settings file {config_file} does not exist")

    class _SettingsFromToml(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return _SettingsFromToml(**kwargs)
