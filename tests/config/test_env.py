"""Environment overrides (issue 8): ``LAZYMED_<KEY>``, unknown variables, the reserved ones,
and the layer order file < profile < environment < keywords, with ``Config.sources``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import Packages, run_python

import lazymed
from lazymed import ConfigError, DisabledModuleError
from lazymed._config import load_config

from ._util import REPORT, finders, last_json, subprocess_env, write_pyproject


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    return write_pyproject(tmp_path / "bare", "[tool.lazymed]\n")


# --------------------------------------------------------------------------- values


def test_disabled_modules_from_a_comma_separated_variable(
    bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAZYMED_DISABLED_MODULES", "supabase,firebase_admin")
    cfg = load_config(bare)
    assert cfg.disabled_modules == ("supabase", "firebase_admin")
    assert cfg.sources["disabled_modules"] == "environment LAZYMED_DISABLED_MODULES"


def test_list_items_are_stripped(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZYMED_LAZY", " google.cloud.storage , llama_index.core ,")
    assert load_config(bare).lazy == ("google.cloud.storage", "llama_index.core")


def test_each_top_level_key_has_a_variable(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZYMED_LAZY", "a,b.c")
    monkeypatch.setenv("LAZYMED_CRITICAL", "myapp.triage")
    monkeypatch.setenv("LAZYMED_FROM_IMPORT", "deferred")
    monkeypatch.setenv("LAZYMED_DISABLED_MODULES", "d")
    cfg = load_config(bare)
    assert (cfg.lazy, cfg.critical, cfg.from_import, cfg.disabled_modules) == (
        ("a", "b.c"),
        ("myapp.triage",),
        "deferred",
        ("d",),
    )
    assert cfg.sources == {
        "lazy": "environment LAZYMED_LAZY",
        "critical": "environment LAZYMED_CRITICAL",
        "from_import": "environment LAZYMED_FROM_IMPORT",
        "disabled_modules": "environment LAZYMED_DISABLED_MODULES",
    }


def test_variables_apply_without_any_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LAZYMED_LAZY", "a")
    cfg = load_config(start_dir=str(empty))
    assert (cfg.path, cfg.lazy) == (None, ("a",))


@pytest.mark.parametrize(
    ("name", "value", "fragments"),
    [
        ("LAZYMED_LAZY", "a..b", ["'a..b'", "dotted module name"]),
        ("LAZYMED_LAZY", "a,a", ["'a'", "listed twice"]),
        ("LAZYMED_CRITICAL", "my app", ["'my app'"]),
        ("LAZYMED_DISABLED_MODULES", "supabase,.rel", ["'.rel'"]),
        ("LAZYMED_DISABLED_MODULES", "x-y", ["'x-y'"]),
        ("LAZYMED_FROM_IMPORT", "lazy", ["'lazy'", "'eager'", "'deferred'"]),
        ("LAZYMED_FROM_IMPORT", "Deferred", ["'Deferred'"]),
    ],
)
def test_bad_values_name_the_variable(
    bare: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    fragments: list[str],
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=bare)
    message = str(info.value)
    assert f"environment variable {name}" in message
    for fragment in fragments:
        assert fragment in message, message
    assert finders() == []


def test_cross_key_conflict_names_variable_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["pkg"]\n')
    monkeypatch.setenv("LAZYMED_CRITICAL", "pkg.core")
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=path)
    message = str(info.value)
    assert "environment LAZYMED_CRITICAL" in message
    assert f"{path} [tool.lazymed]" in message


def test_disabled_critical_conflict_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\ncritical = ["myapp.triage"]\n')
    monkeypatch.setenv("LAZYMED_DISABLED_MODULES", "myapp")
    with pytest.raises(ConfigError, match="environment LAZYMED_DISABLED_MODULES"):
        load_config(path)


# --------------------------------------------------------------------------- unknown variables


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("LAZYMED_LAZZY", "LAZYMED_LAZY"),
        ("LAZYMED_DISABLED", "LAZYMED_DISABLE"),
        ("LAZYMED_DISABLE_MODULES", "LAZYMED_DISABLED_MODULES"),
        ("LAZYMED_PROFILES", "LAZYMED_PROFILE"),
        ("LAZYMED_FROMIMPORT", "LAZYMED_FROM_IMPORT"),
        ("LAZYMED_MEMORY__LIMIT_MB", None),  # not a key of [tool.lazymed.memory]
        ("LAZYMED_SOMETHING_ELSE", None),
        ("LAZYMED_", None),
    ],
)
def test_unknown_variable_is_an_error(
    bare: Path, monkeypatch: pytest.MonkeyPatch, name: str, suggestion: str | None
) -> None:
    monkeypatch.setenv(name, "1")
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=bare)
    message = str(info.value)
    assert f"unknown environment variable {name}" in message
    assert "LAZYMED_FROM_IMPORT" in message and "LAZYMED_CONFIG" in message  # lists valid ones
    if suggestion is not None:
        assert f"Did you mean {suggestion!r}?" in message
    assert finders() == []


def test_unknown_variable_fails_a_real_start(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["json"]\n')
    proc = run_python(
        "import lazymed\nlazymed.install()\n",
        cwd=tmp_path,
        env=subprocess_env(tmp_path, LAZYMED_DISABLED_MODUELS="supabase"),
    )
    assert proc.returncode != 0
    assert "ConfigError" in proc.stderr
    assert "LAZYMED_DISABLED_MODUELS" in proc.stderr


@pytest.mark.parametrize(
    "name", ["LAZYMED_CONFIG", "LAZYMED_DISABLE", "LAZYMED_PROFILE", "LAZYMED_CACHE_DIR"]
)
def test_reserved_variables_are_not_settings(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pyproject(
        tmp_path / "proj",
        '[tool.lazymed]\nlazy = ["a"]\n[tool.lazymed.profiles.dev]\nlazy = ["b"]\n',
    )
    value = {
        "LAZYMED_CONFIG": str(path),
        "LAZYMED_DISABLE": "0",
        "LAZYMED_PROFILE": "dev",
        "LAZYMED_CACHE_DIR": str(tmp_path / "elsewhere"),
    }[name]
    monkeypatch.setenv(name, value)
    cfg = load_config(path)
    assert cfg.sources.get("lazy", "").startswith(str(path))  # not an override of anything
    assert name.removeprefix("LAZYMED_").lower() not in cfg.table


def test_reserved_variables_keep_their_meanings_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pkgs: Packages
) -> None:
    pkgs.module("lm_env_lazy")
    path = write_pyproject(
        tmp_path / "proj",
        """
        [tool.lazymed]
        lazy = ["lm_file"]
        [tool.lazymed.profiles.dev]
        disabled_modules = ["lm_dev_off"]
        """,
    )
    monkeypatch.setenv("LAZYMED_CONFIG", str(path))
    monkeypatch.setenv("LAZYMED_PROFILE", "dev")
    monkeypatch.setenv("LAZYMED_DISABLE", "no")
    monkeypatch.setenv("LAZYMED_LAZY", "lm_env_lazy")
    lazymed.install()
    st = lazymed.status()
    assert (st.config_path, st.profile) == (str(path), "dev")
    assert not lazymed.enabled("lm_dev_off")
    import lm_env_lazy  # noqa: F401

    assert pkgs.runs == []
    assert st.module("lm_env_lazy").role == "lazy"


# --------------------------------------------------------------------------- layer order

LAYERED = """
[tool.lazymed]
lazy = ["f_lazy"]
critical = ["f_crit"]
from_import = "eager"
disabled_modules = ["f_off"]

[tool.lazymed.profiles.p]
lazy = ["p_lazy"]
critical = ["p_crit"]
from_import = "deferred"
disabled_modules = ["p_off"]
"""

#: key -> (file, profile, environment (raw), keyword, environment variable)
VALUES = {
    "lazy": (("f_lazy",), ("p_lazy",), "e_lazy", ("k_lazy",), "LAZYMED_LAZY"),
    "critical": (("f_crit",), ("p_crit",), "e_crit", ("k_crit",), "LAZYMED_CRITICAL"),
    "from_import": ("eager", "deferred", "eager", "deferred", "LAZYMED_FROM_IMPORT"),
    "disabled_modules": (("f_off",), ("p_off",), "e_off", ("k_off",), "LAZYMED_DISABLED_MODULES"),
}


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    return write_pyproject(tmp_path / "layers", LAYERED)


def _env_value(raw: str) -> object:
    return raw if raw in ("eager", "deferred") else (raw,)


@pytest.mark.parametrize("key", sorted(VALUES))
@pytest.mark.parametrize("top", ["file", "profile", "environment", "keyword"])
def test_each_layer_beats_the_one_below(
    key: str, top: str, layered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_v, profile_v, env_raw, kw_v, variable = VALUES[key]
    layers = ["file", "profile", "environment", "keyword"]
    active = layers[: layers.index(top) + 1]
    profile = "p" if "profile" in active else None
    if "environment" in active:
        monkeypatch.setenv(variable, env_raw)
    overrides = {key: list(kw_v) if isinstance(kw_v, tuple) else kw_v} if top == "keyword" else {}
    cfg = load_config(layered, profile=profile, overrides=overrides)
    expected, source = {
        "file": (file_v, f"{layered} [tool.lazymed]"),
        "profile": (profile_v, f"{layered} [tool.lazymed.profiles.p]"),
        "environment": (_env_value(env_raw), f"environment {variable}"),
        "keyword": (kw_v, "install() keyword"),
    }[top]
    assert cfg.table[key] == expected
    assert cfg.sources[key] == source
    assert cfg.describe(key) == source


def test_environment_beats_a_profile_chosen_by_keyword(
    layered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAZYMED_LAZY", "e_lazy")
    cfg = load_config(layered, profile="p")
    assert cfg.lazy == ("e_lazy",)
    assert cfg.critical == ("p_crit",)  # untouched keys keep the profile's values


def test_keyword_beats_environment_without_profile(
    layered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAZYMED_DISABLED_MODULES", "e_off")
    cfg = load_config(layered, overrides={"disabled_modules": ["k_off"]})
    assert cfg.disabled_modules == ("k_off",)
    assert cfg.sources["disabled_modules"] == "install() keyword"
    assert cfg.sources["lazy"] == f"{layered} [tool.lazymed]"


def test_sources_mix_layers(layered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZYMED_CRITICAL", "e_crit")
    cfg = load_config(layered, overrides={"from_import": "eager"})
    assert cfg.sources == {
        "lazy": f"{layered} [tool.lazymed]",
        "critical": "environment LAZYMED_CRITICAL",
        "from_import": "install() keyword",
        "disabled_modules": f"{layered} [tool.lazymed]",
    }


def test_install_keyword_beats_environment(
    layered: Path, pkgs: Packages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkgs.module("lm_mod", "value = 1\n")
    pkgs.module("lm_user", "from lm_mod import value\n")
    monkeypatch.setenv("LAZYMED_FROM_IMPORT", "deferred")
    monkeypatch.setenv("LAZYMED_LAZY", "lm_mod")
    monkeypatch.setenv("LAZYMED_CRITICAL", "")
    lazymed.install(config=layered, from_import="eager")
    assert lazymed.status().from_import == "eager"
    import lm_user  # noqa: F401

    assert pkgs.runs == ["lm_user", "lm_mod"]  # eager from-import loaded lm_mod


def test_install_environment_from_import_deferred(
    layered: Path, pkgs: Packages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkgs.module("lm_mod", "value = 1\n")
    pkgs.module("lm_user", "from lm_mod import value\n")
    monkeypatch.setenv("LAZYMED_FROM_IMPORT", "deferred")
    monkeypatch.setenv("LAZYMED_LAZY", "lm_mod")
    monkeypatch.setenv("LAZYMED_CRITICAL", "")
    lazymed.install(config=layered)
    import lm_user

    assert pkgs.runs == ["lm_user"]  # the from-import ran nothing
    assert lm_user.value == 1
    assert pkgs.runs == ["lm_user", "lm_mod"]


# --------------------------------------------------------------------------- real packages


def test_disabling_real_sdks_from_the_environment(tmp_path: Path) -> None:
    code = """
        import sys
        import lazymed
        lazymed.install()
        import firebase_admin
        import supabase
        from supabase import create_client

        out = {"enabled": [lazymed.enabled("supabase"), lazymed.enabled("firebase_admin.auth")]}
        try:
            create_client("http://127.0.0.1:9", "fake-key")
        except lazymed.DisabledModuleError as exc:
            out["error"] = str(exc)
        try:
            firebase_admin.initialize_app()
        except ImportError as exc:
            out["firebase_error"] = type(exc).__name__
        out["loaded"] = sorted(
            n for n in sys.modules
            if n.split(".")[0] in ("supabase", "firebase_admin", "httpx", "postgrest",
                                   "gotrue", "google", "cachecontrol", "jwt")
        )
        out["types"] = [type(supabase).__name__, type(firebase_admin).__name__]
        import importlib.metadata, json
        out["installed"] = bool(importlib.metadata.version("supabase")) and bool(
            importlib.metadata.version("firebase-admin"))
    """
    code = textwrap.dedent(code) + REPORT.replace("print(json.dumps({", "print(json.dumps({**out, ")
    proc = run_python(
        code,
        cwd=tmp_path,
        env=subprocess_env(tmp_path, LAZYMED_DISABLED_MODULES="supabase,firebase_admin"),
    )
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert isinstance(out, dict)
    assert out["installed"] is True  # the SDKs are there; they simply never ran
    assert out["enabled"] == [False, False]
    assert out["loaded"] == ["firebase_admin", "supabase"]
    assert out["types"] == ["DisabledModule", "DisabledModule"]
    assert "environment LAZYMED_DISABLED_MODULES" in out["error"]
    assert "supabase.create_client" in out["error"]
    assert out["firebase_error"] == "DisabledModuleError"
    assert out["disabled"] == ["supabase", "firebase_admin"]


def test_disabled_module_error_from_environment_is_the_exception_type(
    bare: Path, pkgs: Packages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkgs.module("lm_sdk", "x = 1\n")
    monkeypatch.setenv("LAZYMED_DISABLED_MODULES", "lm_sdk")
    lazymed.install(config=bare)
    import lm_sdk

    with pytest.raises(DisabledModuleError, match="environment LAZYMED_DISABLED_MODULES"):
        lm_sdk.x
    assert pkgs.runs == []
