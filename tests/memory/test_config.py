"""[tool.lazymed.memory]: validation (ConfigError naming file and key), percentages of the
container limit, threshold order, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

import lazymed
import lazymed.memory as memory
from lazymed import ConfigError
from lazymed._config import load_config
from lazymed.memory._sample import Cgroup
from lazymed.memory._settings import resolve

from .conftest import MB, write_pyproject

BAD = [
    ("warning_mb = -1", ["'warning_mb'", "megabytes must be a finite number >= 0"]),
    ("emergency_mb = inf", ["'emergency_mb'", "finite"]),
    ("warning_mb = nan", ["'warning_mb'", "finite"]),
    ("interval_s = nan", ["'interval_s'", "finite"]),
    ("hysteresis = nan", ["'hysteresis'", "finite"]),
    ("min_dwell_s = inf", ["'min_dwell_s'", "finite"]),
    ('warning_mb = "lots"', ["'warning_mb'", "percentage", "'lots'"]),
    ('critical_mb = "0%"', ["'critical_mb'", "more than 0"]),
    ('critical_mb = "150%"', ["'critical_mb'", "at most 100"]),
    ("emergency_mb = true", ["'emergency_mb'", "megabytes"]),
    ("hysteresis = 1.5", ["'hysteresis'", "<= 0.9"]),
    ("interval_s = 0", ["'interval_s'", ">= 0.01"]),
    ('interval_s = "1s"', ["'interval_s'", "a number"]),
    ("enabled = 1", ["'enabled'", "true or false"]),
    ('evictable = ["not a name"]', ["'evictable'", "dotted module name"]),
    ("emergency_actions = [1]", ["'emergency_actions'", "action names"]),
    ("history = 0", ["'history'", ">= 1"]),
    ("warn_mb = 3", ["unknown key 'warn_mb'", "Did you mean 'warning_mb'"]),
    ("warning_mb = 300", ["out of order", "warning_mb = 300", "critical_mb = 200"]),
    ("budget_mb = 150", ["out of order", "budget_mb = 150", "warning_mb = 100"]),
    ("critical_mb = 100", ["out of order", "warning_mb = 100", "critical_mb = 100"]),
]


@pytest.mark.parametrize(("line", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_bad_value_names_file_and_key(tmp_path: Path, line: str, fragments: list[str]) -> None:
    path = write_pyproject(tmp_path, f"[tool.lazymed.memory]\n{line}\n")
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=path)
    message = str(info.value)
    assert str(path) in message, message
    assert "memory" in message
    for fragment in fragments:
        assert fragment in message, message


def test_order_error_names_where_each_value_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pyproject(tmp_path, "[tool.lazymed.memory]\ncritical_mb = 300\n")
    monkeypatch.setenv("LAZYMED_MEMORY__EMERGENCY_MB", "250")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "LAZYMED_MEMORY__EMERGENCY_MB" in message and str(path) in message


def test_defaults_are_the_memory_plans() -> None:
    settings = resolve({}, cgroup=None)
    t = settings.thresholds
    assert (t.budget, t.warning, t.critical, t.emergency, t.vms_alert) == tuple(
        n * MB for n in (50, 100, 200, 500, 500)
    )
    assert settings.enabled and settings.actions["emergency"] == ("*",)


def test_environment_overrides_including_percentages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pyproject(tmp_path, "[tool.lazymed.memory]\nwarning_mb = 120\n")
    monkeypatch.setenv("LAZYMED_MEMORY__WARNING_MB", "70%")
    monkeypatch.setenv("LAZYMED_MEMORY__INTERVAL_S", "0.5")
    monkeypatch.setenv("LAZYMED_MEMORY__EVICTABLE", "a.b, c")
    monkeypatch.setenv("LAZYMED_MEMORY__ENABLED", "off")
    cfg = load_config(path)
    table = cfg.table["memory"]
    assert isinstance(table, dict)
    assert table["warning_mb"] == "70%" and table["interval_s"] == 0.5
    assert table["evictable"] == ("a.b", "c") and table["enabled"] is False
    assert cfg.describe("memory.warning_mb") == "environment LAZYMED_MEMORY__WARNING_MB"
    monkeypatch.setenv("LAZYMED_MEMORY__CRITICAL_MB", "lots")
    with pytest.raises(ConfigError, match="LAZYMED_MEMORY__CRITICAL_MB"):
        load_config(path)


def fake_cgroup(max_mb: float | None, high_mb: float | None = None) -> Cgroup:
    as_bytes = lambda v: None if v is None else int(v * MB)  # noqa: E731
    return Cgroup("/sys/fs/cgroup/app", 10 * MB, as_bytes(max_mb), as_bytes(high_mb), {})


def test_percentages_resolve_against_memory_max_then_memory_high() -> None:
    table = {"budget_mb": "10%", "warning_mb": "70%", "critical_mb": "80%",
             "emergency_mb": "90%", "vms_alert_mb": 4000}  # fmt: skip
    settings = resolve(table, cgroup=fake_cgroup(1000, 500))
    assert settings.thresholds.warning == int(0.7 * 1000 * MB)
    assert settings.limit_bytes == 1000 * MB
    settings = resolve(table, cgroup=fake_cgroup(None, 500))
    assert settings.thresholds.emergency == int(0.9 * 500 * MB)
    assert settings.thresholds.vms_alert == 4000 * MB


def test_percentage_without_a_container_limit_is_an_error(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed.memory]\nwarning_mb = "70%"\n')
    cfg = load_config(path)  # valid as written: the limit is a property of where it runs
    table = cfg.table["memory"]
    assert isinstance(table, dict)
    with pytest.raises(ConfigError) as info:
        resolve(table, cgroup=None, describe=lambda k: cfg.describe(f"memory.{k}"))
    message = str(info.value)
    assert str(path) in message and "'memory.warning_mb'" in message and "'70%'" in message
    assert "no cgroup v2 memory controller" in message
    with pytest.raises(ConfigError, match=r"memory\.max and memory\.high unset"):
        resolve(table, cgroup=fake_cgroup(None, None))


def test_percentages_out_of_order_once_resolved() -> None:
    with pytest.raises(ConfigError, match=r"out of order.*warning_mb.*critical_mb"):
        resolve({"warning_mb": "90%", "critical_mb": 300}, cgroup=fake_cgroup(1000))


def test_configure_validates_its_table() -> None:
    with pytest.raises(ConfigError, match=r"configure.*'interval_s'"):
        memory.configure({"interval_s": -1})
    with pytest.raises(ConfigError, match="unknown key 'nope'"):
        memory.configure({"nope": 1})


def test_disabled_governor_does_not_start() -> None:
    assert memory.start({"enabled": False}) is False
    assert not memory.running()
