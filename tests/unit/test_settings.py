from pathlib import Path

import pytest
from pydantic import ValidationError

from beatwatch.settings import ValidationLimits, load_settings


def test_layout_follows_data_dir(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path / "bw")
    assert s.inbox == tmp_path / "bw" / "inbox"
    assert s.warehouse_path == tmp_path / "bw" / "warehouse.duckdb"
    assert s.lake_dir == tmp_path / "bw" / "lake"
    assert s.quarantine_dir == tmp_path / "bw" / "quarantine"
    assert s.work_db_path.parent == s.state_dir


def test_explicit_beats_environment_beats_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "beatwatch.toml"
    toml.write_text(f'data_dir = "{tmp_path / "from_toml"}"\n[validation]\nmax_flat_s = 5.0\n')
    assert load_settings(config_file=toml).data_dir == tmp_path / "from_toml"
    assert load_settings(config_file=toml).validation.max_flat_s == 5.0

    monkeypatch.setenv("BEATWATCH_DATA_DIR", str(tmp_path / "from_env"))
    monkeypatch.setenv("BEATWATCH_INBOX", str(tmp_path / "drop"))
    s = load_settings(config_file=toml)
    assert s.data_dir == tmp_path / "from_env"
    assert s.inbox == tmp_path / "drop"

    s = load_settings(config_file=toml, data_dir=tmp_path / "explicit", inbox=tmp_path / "in2")
    assert (s.data_dir, s.inbox) == (tmp_path / "explicit", tmp_path / "in2")


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(data_dir=Path("rel")).data_dir == tmp_path / "rel"


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_limits_check_cross_field_rules() -> None:
    with pytest.raises(ValidationError, match="min_duration_s"):
        ValidationLimits(min_duration_s=100, max_duration_s=50)
    with pytest.raises(ValidationError, match="allowed_fs_hz"):
        ValidationLimits(allowed_fs_hz=())


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    with pytest.raises(ValidationError):
        s.data_dir = Path("/elsewhere")  # type: ignore[misc]
