"""Published evaluation protocols for the beat autoencoder: load the data, train, score.

Pure functions (no Prefect, no DuckDB) returning a :class:`ProtocolResult`:

* :func:`beatgan`: MIT-BIH, the BeatGAN protocol (Zhou et al., IJCAI 2019): 44 non-paced
  records, lead MLII, a window 140 samples before to 180 after each *annotated* beat at
  360 Hz; normal = N, L, R; abnormal = A, a, J, S, V, E, F, Q; five seeded folds over the
  normal beats (train on 4/5, test on the other 1/5 plus every abnormal beat).
* :func:`interpatient`: MIT-BIH, de Chazal et al. (2004) DS1/DS2: train on the AAMI-N
  beats of DS1, test on every beat of DS2, with beats from our own R-peak detector
  (:func:`beatwatch.preprocess.preprocess_recording`); no patient is in both sets.
* :func:`ecg5000`: the TensorFlow tutorial's ECG5000 (``ecg.csv``): seeded 80/20 splits,
  train on the normal rows of the 80 %, test on the 20 %.

Labels are 1 for abnormal beats, scores are reconstruction errors (higher: more abnormal).
Preprocessing of MIT-BIH: the zero-phase 0.5-40 Hz band-pass of :mod:`beatwatch.denoise`
on the whole lead, then per-beat centring and division by the square root of the beat's
standard deviation (:func:`beatwatch.training.normalise_beats`).
"""

from __future__ import annotations

from pathlib import Path

from beatwatch.protocols.beatgan import beatgan, load_beatgan_beats
from beatwatch.protocols.common import (
    BANDPASS,
    BEATGAN_ABNORMAL,
    BEATGAN_NORMAL,
    DEFAULT_DATA_DIR,
    DS1,
    DS2,
    PACED_RECORDS,
    PROTOCOLS,
    REFERENCES,
    TARGETS,
    FoldResult,
    Progress,
    ProtocolResult,
    default_configs,
)
from beatwatch.protocols.ecg5000 import ecg5000, load_ecg5000
from beatwatch.protocols.interpatient import DetectedBeats, interpatient, load_detected_beats
from beatwatch.training import TrainConfig
from models import AutoencoderConfig

__all__ = [
    "BANDPASS",
    "BEATGAN_ABNORMAL",
    "BEATGAN_NORMAL",
    "DEFAULT_DATA_DIR",
    "DS1",
    "DS2",
    "PACED_RECORDS",
    "PROTOCOLS",
    "REFERENCES",
    "TARGETS",
    "DetectedBeats",
    "FoldResult",
    "Progress",
    "ProtocolResult",
    "beatgan",
    "default_configs",
    "ecg5000",
    "interpatient",
    "load_beatgan_beats",
    "load_detected_beats",
    "load_ecg5000",
    "run_protocol",
]


def run_protocol(
    protocol: str,
    train_cfg: TrainConfig | None = None,
    model_cfg: AutoencoderConfig | None = None,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    folds: int | None = None,
    progress: Progress | None = None,
) -> ProtocolResult:
    """Run one of :data:`PROTOCOLS` by name (``folds`` is ignored by ``interpatient``)."""
    if protocol == "beatgan":
        return beatgan(train_cfg, model_cfg, data_dir=data_dir, folds=folds or 5, progress=progress)
    if protocol == "interpatient":
        return interpatient(train_cfg, model_cfg, data_dir=data_dir, progress=progress)
    if protocol == "ecg5000":
        return ecg5000(train_cfg, model_cfg, data_dir=data_dir, folds=folds or 5, progress=progress)
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
