"""A corpus of bad (and awkward but good) WFDB deliveries, built into one inbox.

Every case is a small seeded synthetic record (``beatwatch.synthetic``) with one deliberate
defect, and says what a night must do with it: quarantine it (with the quarantine ``kind``,
words its reason must contain, and the file the reason must lead with), accept it, or leave it
in the inbox for a later night. Cases that one night cannot show (a file still being written,
unreadable permissions) are built by their own tests.

Files are aged to an hour ago so that the night does not wait for them to settle, and so that
"oldest first" is fixed: ``good1`` and ``ward_a/twin`` are older than their copies.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import wfdb

from beatwatch.settings import STANDARD_LEADS
from beatwatch.synthetic import (
    ADC_GAIN_PER_MV,
    SyntheticConfig,
    SyntheticRecording,
    generate_ecg,
    write_wfdb_record,
)

Outcome = Literal["quarantined", "accepted", "left"]


@dataclass(frozen=True)
class Expect:
    """What the night must do with one delivery (or stray file)."""

    outcome: Outcome
    kind: str | None = None
    """Quarantine kind (``quarantine.kind``), for a quarantined delivery."""
    words: tuple[str, ...] = ()
    """Text the quarantine reason must contain."""
    failed_file: str | None = None
    """Path, relative to the inbox, of the file the reason must lead with."""


@dataclass(frozen=True)
class Case:
    """One kind of bad input: how to build it, and what the night must do with it."""

    kind: str
    """Name of the kind of input, e.g. ``fs_not_allowed``."""
    build: Callable[[Path, Path], None]
    """``build(inbox, scratch)`` writes the delivery into ``inbox`` (``scratch``: elsewhere)."""
    expects: tuple[tuple[str, Expect], ...]
    """(label, outcome): label is the record name, or a stray's file name."""
    treatment: str
    """How Beatwatch treats it, in words (for the README table)."""


# -- writing records -------------------------------------------------------------------------


def synthetic(
    *,
    fs_hz: float = 360.0,
    duration_s: float = 60.0,
    seed: int = 0,
    leads: tuple[str, ...] = ("MLII", "V1"),
    **cfg: float,
) -> SyntheticRecording:
    return generate_ecg(
        SyntheticConfig(
            fs_hz=fs_hz, duration_s=duration_s, seed=seed, leads=leads, noise_mv=0.01, **cfg
        )
    )


def write(
    folder: Path,
    name: str,
    rec: SyntheticRecording | None = None,
    *,
    annotations: bool = True,
    saturate: bool = False,
    **cfg: float,
) -> list[Path]:
    """Write ``rec`` (default: ``synthetic(**cfg)``) as WFDB record ``name`` in ``folder``."""
    rec = rec if rec is not None else synthetic(**cfg)  # type: ignore[arg-type]
    return write_wfdb_record(rec, folder, name, with_annotations=annotations, saturate=saturate)


def with_signals(rec: SyntheticRecording, signals_mv: np.ndarray) -> SyntheticRecording:
    return replace(rec, signals_mv=signals_mv)


def edit_lines(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite a header's lines (without line ends) through ``edit``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


def set_field(line: str, index: int, value: str) -> str:
    fields = line.split()
    fields[index] = value
    return " ".join(fields)


def checksum(digital: np.ndarray) -> int:
    """WFDB's per-signal checksum: the 16-bit two's complement sum of the samples."""
    total = int(np.sum(digital, dtype=np.int64)) % 65536
    return total - 65536 if total > 32767 else total


def write_format16(
    folder: Path,
    name: str,
    rec: SyntheticRecording,
    *,
    files: tuple[str, ...] | None = None,
    lengths: tuple[int, ...] | None = None,
    header_length: bool = True,
    annotations: bool = True,
) -> None:
    """Write ``rec`` in format 16 straight from numpy (fast for long records).

    ``files`` puts each lead in a file of its own; ``lengths`` then cuts lead files short
    (samples) while the header keeps the record's length (unless ``header_length`` is False).
    """
    folder.mkdir(parents=True, exist_ok=True)
    digital = np.rint(rec.signals_mv * ADC_GAIN_PER_MV).astype("<i2")
    n = rec.n_samples
    first = f"{name} {len(rec.leads)} {rec.fs_hz:g}" + (f" {n}" if header_length else "")
    lines = [first]
    if files is None:
        digital.tofile(folder / f"{name}.dat")
        files = (f"{name}.dat",) * len(rec.leads)
    else:
        for j, file in enumerate(files):
            keep = n if lengths is None else lengths[j]
            digital[:keep, j].tofile(folder / file)
    for j, lead in enumerate(rec.leads):
        lines.append(
            f"{files[j]} 16 {ADC_GAIN_PER_MV:g}/mV 16 0 {int(digital[0, j])} "
            f"{checksum(digital[:, j])} 0 {lead}"
        )
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if annotations:
        symbols = [str(s) for s in rec.beat_symbols]
        wfdb.wrann(name, "atr", rec.beat_samples, symbols, fs=rec.fs_hz, write_dir=str(folder))


def rename_record(folder: Path, old: str, new: str) -> None:
    """Rename a record's files (``old.*`` to ``new.*``) and its header's first line."""
    for path in list(folder.glob(f"{old}.*")):
        path.rename(folder / f"{new}{path.name[len(old) :]}")
    edit_lines(
        folder / f"{new}.hea",
        lambda ls: [
            set_field(ls[0], 0, new),
            *(line.replace(f"{old}.dat", f"{new}.dat") for line in ls[1:]),
        ],
    )


# -- the cases -------------------------------------------------------------------------------

GOOD = ("good1", "good2")


def _good(inbox: Path, scratch: Path) -> None:
    write(inbox, "good1", seed=1)
    write(inbox / "ward2", "good2", fs_hz=250.0, seed=2, heart_rate_bpm=95.0, pvc_rate=0.1)


def _fs_not_allowed(inbox: Path, scratch: Path) -> None:
    write(inbox, "fs200", fs_hz=200.0, seed=3)


def _fs_disagrees_with_annotation(inbox: Path, scratch: Path) -> None:
    write(inbox, "fs500", seed=4)  # samples and .atr at 360 Hz, header then says 500 Hz
    edit_lines(inbox / "fs500.hea", lambda ls: [set_field(ls[0], 2, "500"), *ls[1:]])


def _fs_zero(inbox: Path, scratch: Path) -> None:
    write(inbox, "fs0", seed=5, annotations=False)
    edit_lines(inbox / "fs0.hea", lambda ls: [set_field(ls[0], 2, "0"), *ls[1:]])


def _fs_negative(inbox: Path, scratch: Path) -> None:
    write(inbox, "fsneg", seed=6, annotations=False)  # wfdb alone reads this as 250 Hz
    edit_lines(inbox / "fsneg.hea", lambda ls: [set_field(ls[0], 2, "-360"), *ls[1:]])


def _fs_missing(inbox: Path, scratch: Path) -> None:
    write(inbox, "fsnone", seed=7, annotations=False)  # wfdb alone assumes 250 Hz
    edit_lines(inbox / "fsnone.hea", lambda ls: [" ".join(ls[0].split()[:2]), *ls[1:]])


def _unequal_leads(inbox: Path, scratch: Path) -> None:
    rec = synthetic(seed=8)
    files = ("uneq_mlii.dat", "uneq_v1.dat")
    write_format16(inbox, "uneq", rec, files=files, lengths=(rec.n_samples, 15_000))


def _unequal_leads_no_length(inbox: Path, scratch: Path) -> None:
    rec = synthetic(seed=9)
    files = ("uneqnl_mlii.dat", "uneqnl_v1.dat")
    write_format16(
        inbox, "uneqnl", rec, files=files, lengths=(rec.n_samples, 15_000), header_length=False
    )


def _more_signals_than_dat(inbox: Path, scratch: Path) -> None:
    write(inbox, "moresig", seed=10)
    edit_lines(
        inbox / "moresig.hea",
        lambda ls: [set_field(ls[0], 1, "3"), *ls[1:], ls[-1].replace(" V1", " V2")],
    )


def _nan_run(inbox: Path, scratch: Path) -> None:
    rec = synthetic(seed=11)
    signals = rec.signals_mv.copy()
    signals[3600:10_800, 0] = np.nan  # 20 s of WFDB's invalid sample value on MLII
    write(inbox, "nanrun", with_signals(rec, signals))


def _saturated_run(inbox: Path, scratch: Path) -> None:
    rec = synthetic(seed=12)
    signals = rec.signals_mv.copy()
    signals[3600:14_400, 0] = 50.0  # 30 s pinned at the ADC's upper limit (10.235 mV)
    write(inbox, "satrun", with_signals(rec, signals), saturate=True)


def _flat_minutes(inbox: Path, scratch: Path) -> None:
    rec = synthetic(seed=13, duration_s=300.0)
    signals = rec.signals_mv.copy()
    signals[36_000:79_200, 1] = 0.1  # V1 holds 0.1 mV for 2 minutes (lead off)
    write(inbox, "flatmin", with_signals(rec, signals))


def _annotation_beyond_signal(inbox: Path, scratch: Path) -> None:
    rec = synthetic(seed=14)
    write(inbox, "annpast", rec, annotations=False)
    samples = np.concatenate([rec.beat_samples, [25_000, 30_000]])  # signal: 21 600 samples
    symbols = [str(s) for s in rec.beat_symbols] + ["N", "N"]
    wfdb.wrann("annpast", "atr", samples, symbols, fs=rec.fs_hz, write_dir=str(inbox))


def _too_short(inbox: Path, scratch: Path) -> None:
    write(inbox, "short5s", duration_s=5.0, seed=15)


def _day_long(inbox: Path, scratch: Path) -> None:
    rec = synthetic(fs_hz=128.0, duration_s=24 * 3600.0, seed=16, leads=("ECG1",))
    write_format16(inbox / "holter", "day24h", rec)


def _header_checksum(inbox: Path, scratch: Path) -> None:
    write(inbox, "cksum", seed=17)

    def bump(lines: list[str]) -> list[str]:
        return [lines[0], set_field(lines[1], 6, str(int(lines[1].split()[6]) + 1)), *lines[2:]]

    edit_lines(inbox / "cksum.hea", bump)


def _symlinks_out(inbox: Path, scratch: Path) -> None:
    outside = scratch / "outside"
    write(outside, "lnk", seed=18)
    for path in outside.iterdir():
        (inbox / path.name).symlink_to(path)


def _symlinked_folder_out(inbox: Path, scratch: Path) -> None:
    outside = scratch / "outside_folder"
    write(outside, "farrec", seed=19)
    (inbox / "linked").symlink_to(outside, target_is_directory=True)


def _broken_symlink(inbox: Path, scratch: Path) -> None:
    (inbox / "dangling.dat").symlink_to(scratch / "no-such-file.dat")


def _name_with_space(inbox: Path, scratch: Path) -> None:
    write(inbox, "rec7", seed=20)
    rename_record(inbox, "rec7", "rec 7")


def _name_unicode(inbox: Path, scratch: Path) -> None:
    write(inbox, "ekg", seed=21)
    rename_record(inbox, "ekg", "ékg")


def _folder_unicode_space(inbox: Path, scratch: Path) -> None:
    write(inbox / "station ü 2", "u1", seed=22)


def _duplicate_other_name(inbox: Path, scratch: Path) -> None:
    write(inbox / "again", "good1copy", seed=1)  # the samples of good1


def _same_name_two_folders(inbox: Path, scratch: Path) -> None:
    write(inbox / "ward_a", "twin", seed=23)
    write(inbox / "ward_b", "twin", seed=24)


def _zero_length(inbox: Path, scratch: Path) -> None:
    (inbox / "zlen.dat").write_bytes(b"")
    (inbox / "zlen.hea").write_text(
        "zlen 2 360 0\nzlen.dat 212 200/mV 12 0 0 0 0 MLII\nzlen.dat 212 200/mV 12 0 0 0 0 V1\n"
    )


def _gain_zero(inbox: Path, scratch: Path) -> None:
    write(inbox, "gain0", seed=25)  # wfdb alone reads gain 0 as 200 units/mV
    edit_lines(inbox / "gain0.hea", lambda ls: [ls[0], set_field(ls[1], 2, "0(0)/mV"), *ls[2:]])


def _unknown_units(inbox: Path, scratch: Path) -> None:
    write(inbox, "mmhg", seed=26)
    edit_lines(inbox / "mmhg.hea", lambda ls: [line.replace("/mV", "/mmHg") for line in ls])


def _lead_not_allowed(inbox: Path, scratch: Path) -> None:
    write(inbox, "pleth", seed=27, leads=("PLETH", "RESP"))


def _too_many_leads(inbox: Path, scratch: Path) -> None:
    leads = tuple(lead for lead in STANDARD_LEADS if " " not in lead)[:17]
    write(inbox, "leads17", seed=28, duration_s=40.0, leads=leads)


def _crlf_header(inbox: Path, scratch: Path) -> None:
    write(inbox, "crlf", seed=29)
    header = inbox / "crlf.hea"
    header.write_bytes(header.read_bytes().replace(b"\n", b"\r\n"))


def _bom_header(inbox: Path, scratch: Path) -> None:
    write(inbox, "bomhea", seed=30)
    header = inbox / "bomhea.hea"
    header.write_bytes(b"\xef\xbb\xbf" + header.read_bytes())


def _record_name_mismatch(inbox: Path, scratch: Path) -> None:
    write(inbox, "renamed", seed=31)
    edit_lines(inbox / "renamed.hea", lambda ls: [set_field(ls[0], 0, "original"), *ls[1:]])


def _multi_segment(inbox: Path, scratch: Path) -> None:
    (inbox / "multiseg.hea").write_text("multiseg/2 2 360 43200\nseg_a 21600\nseg_b 21600\n")


def _signal_file_outside_folder(inbox: Path, scratch: Path) -> None:
    write(inbox, "escape", seed=32)
    edit_lines(
        inbox / "escape.hea",
        lambda ls: [ls[0], *(line.replace("escape.dat", "../escape.dat") for line in ls[1:])],
    )


def _no_sample_count(inbox: Path, scratch: Path) -> None:
    write(inbox, "nolen", seed=33)
    edit_lines(inbox / "nolen.hea", lambda ls: [" ".join(ls[0].split()[:3]), *ls[1:]])


def _partial_upload(inbox: Path, scratch: Path) -> None:
    for path in write(inbox, "upl", seed=34):
        path.rename(path.with_name(path.name + ".part"))


def _hidden_folder(inbox: Path, scratch: Path) -> None:
    write(inbox / ".incoming", "hid", seed=35)


def _q(kind: str, *words: str, failed: str) -> Expect:
    return Expect("quarantined", kind, words, failed)


ACCEPTED = Expect("accepted")
LEFT = Expect("left")
VALIDATION = "validation_failed"

CASES: tuple[Case, ...] = (
    Case("good_records", _good, (("good1", ACCEPTED), ("good2", ACCEPTED)), "accepted"),
    Case(
        "fs_not_allowed",
        _fs_not_allowed,
        (
            (
                "fs200",
                _q(VALIDATION, "(fs_hz)", "one the pipeline is set up for", failed="fs200.hea"),
            ),
        ),
        "quarantined: recording suite, sampling rate not in `validation.allowed_fs_hz`",
    ),
    Case(
        "fs_disagrees_with_annotation",
        _fs_disagrees_with_annotation,
        (("fs500", _q("foreign_annotation", "made for 360 Hz", "500 Hz", failed="fs500.atr")),),
        "quarantined: the annotation file's rate differs from the header's",
    ),
    Case(
        "fs_zero",
        _fs_zero,
        (("fs0", _q("bad_sampling_rate", "'0'", "positive number of Hz", failed="fs0.hea")),),
        "quarantined (wfdb reads 0 Hz, which would divide by zero)",
    ),
    Case(
        "fs_negative",
        _fs_negative,
        (("fsneg", _q("bad_sampling_rate", "'-360'", failed="fsneg.hea")),),
        "quarantined (wfdb alone silently reads it as 250 Hz)",
    ),
    Case(
        "fs_missing",
        _fs_missing,
        (("fsnone", _q("bad_sampling_rate", "no sampling rate", failed="fsnone.hea")),),
        "quarantined (WFDB would assume 250 Hz; Beatwatch does not guess)",
    ),
    Case(
        "leads_of_different_lengths",
        _unequal_leads,
        (
            (
                "uneq",
                _q(
                    "unequal_lead_lengths",
                    "leads of different lengths",
                    "V1 in uneq_v1.dat: 15000",
                    failed="uneq_v1.dat",
                ),
            ),
        ),
        "quarantined, naming each lead's file and length",
    ),
    Case(
        "leads_of_different_lengths_no_length_in_header",
        _unequal_leads_no_length,
        (("uneqnl", _q("unequal_lead_lengths", "15000", failed="uneqnl_v1.dat")),),
        "quarantined (wfdb alone fails with 'Samples were not loaded correctly')",
    ),
    Case(
        "more_signals_than_the_dat_holds",
        _more_signals_than_dat,
        (("moresig", _q("truncated_signal", "3 signals", failed="moresig.dat")),),
        "quarantined as a truncated signal file",
    ),
    Case(
        "nan_run",
        _nan_run,
        (("nanrun", _q(VALIDATION, "(nan_count)", "MLII", failed="nanrun.hea")),),
        "quarantined: signal suite, NaN (WFDB invalid sample) count must be 0",
    ),
    Case(
        "saturated_run",
        _saturated_run,
        (
            (
                "satrun",
                _q(VALIDATION, "(max_abs_mv)", "(longest_flat_s)", failed="satrun.hea"),
            ),
        ),
        "quarantined: signal suite, beyond the physical limit and flat for over 10 s "
        "(short clipping of QRS peaks is accepted)",
    ),
    Case(
        "lead_flat_for_minutes",
        _flat_minutes,
        (("flatmin", _q(VALIDATION, "(longest_flat_s)", "V1", failed="flatmin.hea")),),
        "quarantined: signal suite, longest flat run over `validation.max_flat_s`",
    ),
    Case(
        "annotations_beyond_the_signal",
        _annotation_beyond_signal,
        (("annpast", _q(VALIDATION, "(n_samples,sample)", "30000", failed="annpast.atr")),),
        "quarantined: annotations suite, every annotation inside the signal",
    ),
    Case(
        "record_of_a_few_seconds",
        _too_short,
        (("short5s", _q(VALIDATION, "(duration_s)", failed="short5s.hea")),),
        "quarantined: recording suite, duration under `validation.min_duration_s`",
    ),
    Case("record_of_24_hours", _day_long, (("day24h", ACCEPTED),), "accepted and scored"),
    Case(
        "header_checksum_disagrees",
        _header_checksum,
        (
            (
                "cksum",
                _q("header_checksum", "sum to checksum", "cksum.hea says", failed="cksum.dat"),
            ),
        ),
        "quarantined (wfdb alone never checks the header's checksums)",
    ),
    Case(
        "symlinks_out_of_the_inbox",
        _symlinks_out,
        tuple(
            (f"lnk.{ext}", _q("symlink_outside_inbox", "not followed", failed=f"lnk.{ext}"))
            for ext in ("hea", "dat", "atr")
        ),
        "quarantined: the link is moved, never followed; its target is left untouched",
    ),
    Case(
        "symlinked_folder_out_of_the_inbox",
        _symlinked_folder_out,
        (("linked", _q("symlink_outside_inbox", "outside the inbox", failed="linked")),),
        "quarantined (the link); the records it points to are not ingested",
    ),
    Case(
        "broken_symlink",
        _broken_symlink,
        (("dangling.dat", _q("broken_symlink", "no-such-file.dat", failed="dangling.dat")),),
        "quarantined (the link)",
    ),
    Case(
        "record_name_with_a_space",
        _name_with_space,
        (("rec 7", _q("bad_record_name", "'rec 7'", "ASCII letters", failed="rec 7.hea")),),
        "quarantined: WFDB record names are ASCII letters, digits, _ and -",
    ),
    Case(
        "record_name_with_unicode",
        _name_unicode,
        (("ékg", _q("bad_record_name", "'ékg'", failed="ékg.hea")),),
        "quarantined (wfdb misreads the header: it looks for 'kg.dat')",
    ),
    Case(
        "folder_name_with_space_and_unicode",
        _folder_unicode_space,
        (("u1", ACCEPTED),),
        "accepted: folder names may be anything",
    ),
    Case(
        "duplicate_under_another_name",
        _duplicate_other_name,
        (
            (
                "good1copy",
                _q("duplicate", "identical to record 'good1'", failed="again/good1copy.hea"),
            ),
        ),
        "quarantined; the earlier delivery is kept",
    ),
    Case(
        "same_record_name_in_two_folders",
        _same_name_two_folders,
        (
            ("twin", ACCEPTED),
            ("twin", _q("conflict", "delivered twice", failed="ward_b/twin.hea")),
        ),
        "the older delivery is accepted, the newer quarantined as a conflict",
    ),
    Case(
        "zero_length_signal",
        _zero_length,
        (("zlen", _q("empty_file", "empty file", failed="zlen.dat")),),
        "quarantined (a header declaring 0 samples over a non-empty file: `empty_signal`)",
    ),
    Case(
        "gain_of_zero",
        _gain_zero,
        (("gain0", _q("uncalibrated_signal", "gain 0", "'MLII'", failed="gain0.hea")),),
        "quarantined (wfdb alone silently assumes 200 units/mV)",
    ),
    Case(
        "unknown_units",
        _unknown_units,
        (("mmhg", _q(VALIDATION, "(unit)", "mmHg", failed="mmhg.hea")),),
        "quarantined: signal suite, unit must be a voltage",
    ),
    Case(
        "lead_name_not_allowed",
        _lead_not_allowed,
        (("pleth", _q(VALIDATION, "(lead)", "PLETH", failed="pleth.hea")),),
        "quarantined: signal suite, lead in `validation.allowed_leads`",
    ),
    Case(
        "more_than_16_leads",
        _too_many_leads,
        (("leads17", _q(VALIDATION, "(n_leads)", failed="leads17.hea")),),
        "quarantined: recording suite, 1-16 leads",
    ),
    Case("header_with_crlf_line_ends", _crlf_header, (("crlf", ACCEPTED),), "accepted"),
    Case("header_with_utf8_bom", _bom_header, (("bomhea", ACCEPTED),), "accepted"),
    Case(
        "header_naming_another_record",
        _record_name_mismatch,
        (
            (
                "renamed",
                _q("record_name_mismatch", "'original'", "renamed.hea", failed="renamed.hea"),
            ),
        ),
        "quarantined",
    ),
    Case(
        "multi_segment_record",
        _multi_segment,
        (("multiseg", _q("multi_segment", "seg_a, seg_b", failed="multiseg.hea")),),
        "quarantined: single-segment records only",
    ),
    Case(
        "signal_file_outside_the_record_folder",
        _signal_file_outside_folder,
        (("escape", _q("corrupt_header", "signal line", failed="escape.hea")),),
        "quarantined: wfdb refuses a path in the file name; nothing outside is read",
    ),
    Case(
        "header_without_sample_count",
        _no_sample_count,
        (("nolen", ACCEPTED),),
        "accepted: the length is taken from the signal file (WFDB allows it)",
    ),
    Case(
        "partial_upload",
        _partial_upload,
        (("upl.hea.part", LEFT), ("upl.dat.part", LEFT)),
        "left in the inbox, untouched (`*.part`, `*.tmp`, `*.partial`: still uploading)",
    ),
    Case(
        "hidden_folder",
        _hidden_folder,
        ((".incoming/hid.hea", LEFT),),
        "left in the inbox, untouched (dot-files and dot-folders: still uploading)",
    ),
)
"""One night's corpus: every case in one inbox."""


def build_inbox(inbox: Path, scratch: Path, cases: tuple[Case, ...] = CASES) -> None:
    """Build every case into ``inbox`` (``scratch`` holds what lies outside the inbox)."""
    inbox.mkdir(parents=True, exist_ok=True)
    scratch.mkdir(parents=True, exist_ok=True)
    for case in cases:
        case.build(inbox, scratch)
    age(inbox, seconds=3600.0)
    for older in [inbox / "ward_a", *inbox.glob("good1.*")]:  # the originals come first
        age(older, seconds=7200.0)


def age(path: Path, *, seconds: float) -> None:
    """Set the modification time of ``path`` (and everything under it) to ``seconds`` ago;
    links themselves, never their targets."""
    then = time.time_ns() - int(seconds * 1e9)
    paths = [path, *path.rglob("*")] if path.is_dir() and not path.is_symlink() else [path]
    for p in paths:
        os.utime(p, ns=(then, then), follow_symlinks=False)


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """{relative path: bytes (files) or link target (symbolic links)} under ``folder``."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = os.readlink(path)
            elif path.is_file():
                out[rel] = path.read_bytes()
    return out
