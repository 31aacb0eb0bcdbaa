"""status() records and on_load(); figures agree with an outside measurement."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, Packages

import lazymed
from lazymed import _schema


def test_records_say_who_imported_and_who_first_used(pkgs: Packages) -> None:
    pkgs.module("rec_mod", "X = 1\n")
    pkgs.module("rec_user", "import rec_mod\ndef use():\n    return rec_mod.X\n")
    lazymed.install(lazy=["rec_mod"])
    import rec_user

    before = lazymed.status().module("rec_mod")
    assert (before.role, before.state) == ("lazy", "lazy")
    assert before.imported_at is not None and before.imported_at.endswith("rec_user.py:3")
    assert before.first_used_at is None and before.load_seconds is None
    rec_user.use()
    after = lazymed.status().module("rec_mod")
    assert after.state == "loaded"
    assert after.first_used_at is not None and after.first_used_at.endswith("rec_user.py:5")
    assert after.first_used_attr == "X"
    assert after.load_seconds is not None and after.load_seconds >= 0
    assert after.rss_growth_bytes is not None


def test_status_lists_configured_but_not_imported_names() -> None:
    lazymed.install(lazy=["never_lm_a"], critical=[])
    status = lazymed.status()
    assert status.installed is True
    assert status.module("never_lm_a").state == "not imported"
    assert status.as_dict()["modules"][0]["name"] == "never_lm_a"
    with pytest.raises(KeyError, match="not registered"):
        status.module("other")
    lazymed.uninstall()
    assert lazymed.status().installed is False


def test_status_reports_the_effective_config_and_where_each_setting_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.lazymed]\nlazy = ["lm_a", "lm_b"]\ncritical = ["json"]\n'
        '[tool.lazymed.profiles.dev]\ndisabled_modules = ["lm_off"]\n'
        "[tool.lazymed.profiles.prod]\n"
    )
    monkeypatch.setenv("LAZYMED_FROM_IMPORT", "deferred")
    lazymed.install(config=pyproject, profile="dev", lazy=["lm_c"])
    st = lazymed.status()
    assert (st.lazy, st.critical, st.disabled_modules) == (("lm_c",), ("json",), ("lm_off",))
    assert st.profiles == ("dev", "prod")
    given = {
        "lazy": "install() keyword",
        "critical": f"{pyproject} [tool.lazymed]",
        "disabled_modules": f"{pyproject} [tool.lazymed.profiles.dev]",
        "from_import": "environment LAZYMED_FROM_IMPORT",
    }
    # every other setting (the layers' sub-tables too, key by dotted key) from its default
    assert {k: v for k, v in st.sources.items() if v != "default"} == given
    for key, value in _schema.DEFAULTS.items():
        if isinstance(value, dict):
            assert all(st.sources[f"{key}.{sub}"] == "default" for sub in value), key
            assert key not in st.sources  # a table has no source of its own
        elif key not in given:
            assert st.sources[key] == "default", key
    as_json = json.loads(json.dumps(st.as_dict()))
    assert as_json["sources"]["lazy"] == "install() keyword"
    assert as_json["lazy"] == ["lm_c"]


def test_status_config_fields_default_and_empty() -> None:
    st = lazymed.status()
    assert (st.lazy, st.critical, st.disabled_modules, st.profiles, st.sources) == (
        (),
        (),
        (),
        (),
        {},
    )
    lazymed.install(lazy=["lm_x"])
    st = lazymed.status()
    assert st.sources["critical"] == "default"
    assert st.sources["from_import"] == "default"
    assert st.sources["lazy"] == "install() keyword"


def test_covered_submodules_get_records(pkgs: Packages) -> None:
    pkgs.module("cov", package=True)
    pkgs.module("cov.sub", "X = 1\n")
    lazymed.install(lazy=["cov"])
    import cov.sub

    names = [m.name for m in lazymed.status().modules]
    assert names == ["cov", "cov.sub"]
    assert cov.sub.X == 1
    assert lazymed.status().module("cov").first_used_at is not None  # parents first


def test_on_load_runs_at_the_real_load_not_the_import(pkgs: Packages) -> None:
    pkgs.module("hooked", "X = 1\n")
    lazymed.install(lazy=["hooked"])
    seen: list[types.ModuleType] = []
    lazymed.on_load("hooked", seen.append)
    import hooked

    assert seen == []
    assert hooked.X == 1
    assert seen == [hooked]
    hooked.X
    assert len(seen) == 1


def test_on_load_for_a_loaded_module_runs_now() -> None:
    seen: list[types.ModuleType] = []
    lazymed.on_load("json", seen.append)
    import json as json_module

    assert seen == [json_module]


def test_on_load_for_an_unmanaged_module_uses_wrapt(pkgs: Packages) -> None:
    pkgs.module("plain_lm", "X = 1\n")
    seen: list[str] = []
    lazymed.on_load("plain_lm", lambda m: seen.append(m.__name__))
    assert "wrapt" in sys.modules
    import plain_lm  # noqa: F401

    assert seen == ["plain_lm"]


def test_on_load_before_install_waits_for_the_real_load(pkgs: Packages) -> None:
    pkgs.module("early_hook", "X = 1\n")
    seen: list[str] = []
    lazymed.on_load("early_hook", lambda m: seen.append(type(m).__name__))
    lazymed.install(lazy=["early_hook"])
    import early_hook

    assert seen == []
    assert early_hook.X == 1
    assert seen == ["module"]


def test_on_load_errors(pkgs: Packages) -> None:
    with pytest.raises(lazymed.ConfigError):
        lazymed.on_load("not a name", print)
    with pytest.raises(TypeError):
        lazymed.on_load("json", "not callable")  # type: ignore[arg-type]


def test_on_load_callback_error_propagates_with_a_note(pkgs: Packages) -> None:
    pkgs.module("hook_err", "X = 1\n")
    lazymed.install(lazy=["hook_err"])
    import hook_err

    def bad(module: types.ModuleType) -> None:
        raise RuntimeError("callback failed")

    lazymed.on_load("hook_err", bad)
    with pytest.raises(RuntimeError) as info:
        hook_err.X
    assert any("on_load callback" in note for note in info.value.__notes__)
    assert hook_err.X == 1  # the module itself loaded


CHILD = """
import sys, json
sys.path.insert(0, sys.argv[1])
import lazymed
lazymed.install(lazy=["ballast_lm"])
import ballast_lm
print("imported", flush=True); sys.stdin.readline()
ballast_lm.BALLAST
record = lazymed.status().module("ballast_lm")
print(json.dumps({"rss_growth_bytes": record.rss_growth_bytes}), flush=True)
sys.stdin.readline()
"""


def test_rss_growth_agrees_with_psutil_from_another_process(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    (tmp_path / "ballast_lm.py").write_text(
        f"BALLAST = bytes(range(256)) * ({size} // 256)\n"  # touched pages: resident
    )
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "imported"
        outside = psutil.Process(proc.pid)
        rss_before = outside.memory_info().rss
        proc.stdin.write("go\n")
        proc.stdin.flush()
        reported = json.loads(proc.stdout.readline())["rss_growth_bytes"]
        rss_after = outside.memory_info().rss
        proc.stdin.write("done\n")
        proc.stdin.flush()
    finally:
        proc.wait(30)
    measured = rss_after - rss_before
    assert measured > size * 0.9
    assert abs(reported - measured) <= max(2 * 1024 * 1024, 0.05 * measured), (reported, measured)
