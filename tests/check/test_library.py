"""The check library (:mod:`lazymed.check`) in process: resolution without importing, the one
typo matcher, distribution hints and the structured fields of ConfigError they read. The command
line (``lazymed check`` in fresh interpreters) is tested in tests/cli/test_check.py."""

from __future__ import annotations

import pickle
import sys
import textwrap
from pathlib import Path

import pytest

from lazymed import ConfigError
from lazymed._config import load_config
from lazymed.check import check, config_error_hints, resolve

BOOM = """
raise RuntimeError(__name__ + " must not be imported by lazymed check")
"""
SITE = {
    "boom/__init__.py": BOOM,
    "boom/sub.py": BOOM,
    "ns1/ns2/leaf/__init__.py": BOOM,
    "heavylib/__init__.py": "X = 1\n",
    "heavy_lib/__init__.py": "X = 1\n",
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    for rel, body in SITE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"))
    return root


def test_resolve_in_process_leaves_sys_modules_alone(tmp_path: Path, site: Path) -> None:
    before = set(sys.modules)
    res = resolve("ns1.ns2.leaf", [str(site)])
    assert res.found and res.kind == "package"
    assert res.locations == (str(site / "ns1" / "ns2" / "leaf"),)
    assert resolve("boom.sub", [str(site)]).origin == str(site / "boom" / "sub.py")
    assert set(sys.modules) == before


def test_close_matches_and_edit_distance() -> None:
    from lazymed.check import close_matches, edit_distance

    assert edit_distance("sbu", "sub") == 1
    assert edit_distance("myapp", "mmap") == 2
    assert edit_distance("supabse", "supabase") == 1
    assert close_matches("myapp", ["mmap", "myap", "numpy"]) == ["myap"]
    assert close_matches("supabse", ["supabase", "supabase_auth", "base"]) == ["supabase"]
    assert close_matches("heavylyb", ["heavylib"]) == ["heavylib"]


def test_the_typo_matcher_also_serves_config_errors(tmp_path: Path) -> None:
    from lazymed._typos import close_matches

    # Config keys: a unit suffix left off matches too, after the typos; module names: not.
    assert close_matches("limit", ["limit_mb", "mode"], suffixes=True) == ["limit_mb"]
    assert close_matches("limit", ["limit_mb", "mode"]) == []
    assert close_matches("LAZYMED_", ["LAZYMED_LAZY"], suffixes=True) == []
    assert close_matches("limit", ["limit_mb", "limt"], suffixes=True) == ["limt", "limit_mb"]
    (tmp_path / "pyproject.toml").write_text("[tool.lazymed]\nfrom_imprt = 'eager'\n")
    with pytest.raises(ConfigError, match="Did you mean 'from_import'"):
        load_config(tmp_path / "pyproject.toml")


def test_config_error_names_the_rejected_module_names(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["ok", "llama-index-core"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "pyproject.toml")
    assert info.value.rejected == ("llama-index-core",)
    assert info.value.where is not None and "'lazy'" in info.value.where
    again = pickle.loads(pickle.dumps(info.value))  # e.g. from a worker process
    assert (again.rejected, again.where, str(again)) == (
        info.value.rejected,
        info.value.where,
        str(info.value),
    )
    # Other errors reject no names.
    (tmp_path / "pyproject.toml").write_text("[tool.lazymed]\nlazzy = []\n")
    with pytest.raises(ConfigError) as other:
        load_config(tmp_path / "pyproject.toml")
    assert other.value.rejected == ()


def test_hints_read_the_structured_field_not_the_message(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(site))
    # A message that merely mentions a dashed name gives no hint: only `rejected` counts.
    text = "x: 'heavy-lib' is not a dotted module name"
    assert config_error_hints(ConfigError(text)) == []
    hints = config_error_hints(ConfigError("anything", rejected=("heavy-lib",)))
    assert [(h["name"], h["modules"]) for h in hints] == [("heavy-lib", ["heavy_lib"])]


def test_check_in_process_imports_nothing(tmp_path: Path, site: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lazymed]\nlazy = ["boom", "heavylbi"]\ncritical = ["ns1.ns2.leaf"]\n'
    )
    before = set(sys.modules)
    cfg = load_config(tmp_path / "pyproject.toml")
    sys.path.insert(0, str(site))
    try:
        report = check(cfg, [], probe=False, disabled=False)
    finally:
        sys.path.remove(str(site))
    assert {m.name: m.resolution.found for m in report.modules} == {
        "boom": True,
        "heavylbi": False,
        "ns1.ns2.leaf": True,
    }
    missing = next(m for m in report.modules if m.name == "heavylbi")
    assert missing.resolution.suggestion == "heavylib"
    assert [(p.code, p.name) for p in report.problems] == [("not-found", "heavylbi")]
    assert report.exit_status(strict=False) == 1
    assert not {"boom", "ns1", "ns1.ns2.leaf"} & (set(sys.modules) - before)
