"""The shipped alert rules: promtool check rules, promtool test rules (a firing and a silent
case for every rule), and mutations of the rules that the unit tests must catch."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lazymed.web import alert_rules_path

from ._tools import debian_tool

HERE = Path(__file__).resolve().parent
RULES = Path(alert_rules_path())


@pytest.fixture(scope="module")
def promtool() -> str:
    return debian_tool("promtool", "prometheus")


def _test_rules(promtool: str, rules: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    tests = tmp_path / "alerts_test.yml"
    tests.write_text((HERE / "alerts_test.yml").read_text().replace("ALERTS_PATH", str(rules)))
    return subprocess.run(
        [promtool, "test", "rules", str(tests)], capture_output=True, text=True, timeout=120
    )


def test_rules_ship_with_the_package() -> None:
    assert RULES.is_file() and RULES.parent.name == "web"
    names = re.findall(r"- alert: (\w+)", RULES.read_text())
    assert names == [
        "LazymedMemoryWarning",
        "LazymedMemoryCritical",
        "LazymedMemoryEmergency",
        "LazymedVmsHigh",
        "LazymedLeakSuspected",
        "LazymedIsolatedWorkerRestarting",
    ]
    assert RULES.read_text().count("for: ") == len(names), "every rule has a for: window"


def test_every_rule_has_unit_tests() -> None:
    tests = (HERE / "alerts_test.yml").read_text()
    for name in re.findall(r"- alert: (\w+)", RULES.read_text()):
        assert re.search(rf"alertname: {name}\n\s+exp_alerts: \[\]", tests), f"{name}: silent case"
        assert re.search(rf"alertname: {name}\n\s+exp_alerts:\n", tests), f"{name}: firing case"


def test_promtool_check_rules(promtool: str) -> None:
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_promtool_test_rules(promtool: str, tmp_path: Path) -> None:
    done = _test_rules(promtool, RULES, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("lazymed_rss_bytes >= 104857600 and", "lazymed_rss_bytes >= 94371840 and"),  # 90 MiB
        ("lazymed_rss_bytes >= 524288000\n", "lazymed_rss_bytes >= 629145601\n"),
        ("for: 5m\n        labels:\n          severity: warning\n        annotations:\n"
         '          summary: "RSS', "for: 1m\n        labels:\n          severity: warning\n"
         '        annotations:\n          summary: "RSS'),
        ("severity: critical", "severity: page"),
        ("lazymed_vms_bytes >= 524288000", "lazymed_vms_bytes >= 1048576000"),
        ("== 1\n        for: 15m", "== 1\n        for: 5m"),
        ("[15m]) >= 2", "[15m]) >= 1"),
    ],
)  # fmt: skip
def test_a_wrong_threshold_window_or_label_fails_the_unit_tests(
    promtool: str, tmp_path: Path, old: str, new: str
) -> None:
    text = RULES.read_text()
    assert text.count(old) == 1, old
    mutated = tmp_path / "alerts.yml"
    mutated.write_text(text.replace(old, new))
    check = subprocess.run([promtool, "check", "rules", str(mutated)], capture_output=True)
    assert check.returncode == 0  # still valid syntax: only the unit tests can catch it
    assert _test_rules(promtool, mutated, tmp_path).returncode != 0
