"""Profiles (issue 8): ``[tool.lazymed.profiles.NAME]`` layered over ``[tool.lazymed]``."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Packages, run_python

import lazymed
from lazymed import ConfigError, DisabledModuleError, _schema
from lazymed._config import load_config, merge

from ._util import finders, last_json, subprocess_env, write_pyproject

PROFILES = """
[tool.lazymed]
lazy = ["lm_a", "lm_b"]
critical = ["lm_crit"]
from_import = "eager"
disabled_modules = ["lm_off"]

[tool.lazymed.profiles.development]
disabled_modules = ["lm_a", "lm_dev_off"]

[tool.lazymed.profiles.production]
lazy = ["lm_c"]
from_import = "deferred"

[tool.lazymed.profiles.empty]
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write_pyproject(tmp_path / "proj", PROFILES)


def test_no_profile_is_active_by_default(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.profile is None
    assert cfg.profiles == ("development", "empty", "production")
    assert cfg.lazy == ("lm_a", "lm_b")
    assert cfg.disabled_modules == ("lm_off",)
    assert "profiles" not in cfg.table


def test_profile_overrides_only_the_keys_it_sets(path: Path) -> None:
    cfg = load_config(path, profile="development")
    assert cfg.profile == "development"
    assert cfg.disabled_modules == ("lm_a", "lm_dev_off")
    # Keys the profile does not mention keep the file's values.
    assert cfg.lazy == ("lm_a", "lm_b")
    assert cfg.critical == ("lm_crit",)
    assert cfg.from_import == "eager"


def test_profile_lists_replace_not_append(path: Path) -> None:
    cfg = load_config(path, profile="production")
    assert cfg.lazy == ("lm_c",)  # not ("lm_a", "lm_b", "lm_c")
    dev = load_config(path, profile="development")
    assert "lm_off" not in dev.disabled_modules


def test_profile_strings_replace(path: Path) -> None:
    assert load_config(path, profile="production").from_import == "deferred"


def test_profile_empty_list_clears_the_file_list(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path,
        """
        [tool.lazymed]
        disabled_modules = ["a", "b"]
        [tool.lazymed.profiles.all_on]
        disabled_modules = []
        """,
    )
    assert load_config(path, profile="all_on").disabled_modules == ()


def test_empty_profile_changes_nothing(path: Path) -> None:
    plain = load_config(path)
    empty = load_config(path, profile="empty")
    assert empty.table == plain.table
    assert empty.profile == "empty"


def test_merge_rule_tables_merge_key_by_key_everything_else_replaces() -> None:
    base = {
        "lazy": ("a", "b"),
        "name": "x",
        "n": 1,
        "memory": {"limit_mb": 512, "modules": ("a",), "deep": {"k": 1, "j": 2}},
    }
    top = {"lazy": ("c",), "n": 2, "memory": {"modules": ("b",), "deep": {"j": 3}}}
    assert merge(base, top) == {
        "lazy": ("c",),
        "name": "x",
        "n": 2,
        "memory": {"limit_mb": 512, "modules": ("b",), "deep": {"k": 1, "j": 3}},
    }
    assert base["memory"] == {"limit_mb": 512, "modules": ("a",), "deep": {"k": 1, "j": 2}}


def test_profile_tables_merge_key_by_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Sub-tables arrive with later layers (memory, startup, ...) as ("table", {...}) schema
    # entries; the profile/env machinery must merge them key by key. Register one the way those
    # layers will, and check the whole pipeline: file < profile < environment.
    schema = {"limit_mb": ("int", 0), "watch": _schema.MODULES, "mode": ("str",)}
    monkeypatch.setitem(_schema.SCHEMA, "memory", ("table", schema))
    monkeypatch.setitem(_schema.DEFAULTS, "memory", {"limit_mb": 0, "watch": (), "mode": "off"})
    path = write_pyproject(
        tmp_path,
        """
        [tool.lazymed.memory]
        limit_mb = 512
        watch = ["a", "b"]
        [tool.lazymed.profiles.small.memory]
        limit_mb = 128
        """,
    )
    cfg = load_config(path, profile="small")
    assert cfg.table["memory"] == {"limit_mb": 128, "watch": ("a", "b"), "mode": "off"}
    assert cfg.sources["memory.limit_mb"] == f"{path} [tool.lazymed.profiles.small]"
    assert cfg.sources["memory.watch"] == f"{path} [tool.lazymed]"
    assert "memory.mode" not in cfg.sources
    monkeypatch.setenv("LAZYMED_MEMORY__WATCH", "c")
    cfg = load_config(path, profile="small")
    assert cfg.table["memory"] == {"limit_mb": 128, "watch": ("c",), "mode": "off"}
    assert cfg.sources["memory.watch"] == "environment LAZYMED_MEMORY__WATCH"
    # An unknown key inside the sub-table names the profile and the table.
    bad = write_pyproject(tmp_path / "bad", "[tool.lazymed.profiles.small.memory]\nlimit = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    message = str(info.value)
    assert "[tool.lazymed.profiles.small.memory]" in message
    assert "Did you mean 'limit_mb'?" in message


# --------------------------------------------------------------------------- active profile


def test_active_profile_from_environment(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZYMED_PROFILE", "production")
    cfg = load_config(path)
    assert (cfg.profile, cfg.lazy) == ("production", ("lm_c",))


def test_profile_keyword_beats_environment(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZYMED_PROFILE", "production")
    cfg = load_config(path, profile="development")
    assert cfg.profile == "development"
    assert cfg.lazy == ("lm_a", "lm_b")  # production's lazy list is not applied


def test_empty_profile_variable_means_none(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAZYMED_PROFILE", "")
    assert load_config(path).profile is None


def test_install_profile_and_status(path: Path, pkgs: Packages) -> None:
    pkgs.module("lm_crit")
    lazymed.install(config=path, profile="development")
    st = lazymed.status()
    assert st.installed
    assert st.profile == "development"
    assert st.config_path == str(path)
    assert not lazymed.enabled("lm_a")
    assert lazymed.enabled("lm_off")  # the profile's list replaced the file's


def test_status_without_profile(path: Path, pkgs: Packages) -> None:
    pkgs.module("lm_crit")
    lazymed.install(config=path)
    st = lazymed.status()
    assert (st.profile, st.config_path) == (None, str(path))


def test_profile_from_environment_in_a_subprocess(path: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "lm_crit.py").write_text("")
    proc = run_python(
        """
        import json, lazymed
        lazymed.install()
        st = lazymed.status()
        print(json.dumps([st.profile, st.config_path, lazymed.enabled("lm_dev_off")]))
        """,
        cwd=path.parent,
        env=subprocess_env(tmp_path, LAZYMED_PROFILE="development", PYTHONPATH=str(site)),
    )
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout) == ["development", str(path), False]


def test_second_install_with_another_profile_raises(path: Path, pkgs: Packages) -> None:
    pkgs.module("lm_crit")
    lazymed.install(config=path, profile="development")
    lazymed.install(config=path, profile="development")  # same: fine
    with pytest.raises(ConfigError, match="different configuration"):
        lazymed.install(config=path, profile="production")
    assert lazymed.status().profile == "development"
    assert len(finders()) == 1


# --------------------------------------------------------------------------- errors


def test_unknown_profile_lists_the_defined_ones(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=path, profile="staging")
    message = str(info.value)
    assert "'staging'" in message
    assert "development, empty, production" in message
    assert "install(profile=...)" in message
    assert str(path) in message
    assert finders() == []


def test_unknown_profile_from_environment_names_the_variable(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAZYMED_PROFILE", "developement")
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=path)
    message = str(info.value)
    assert "'developement'" in message
    assert "LAZYMED_PROFILE" in message
    assert "development, empty, production" in message


def test_unknown_profile_when_none_are_defined(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    with pytest.raises(ConfigError, match=r"'dev'.*none"):
        load_config(path, profile="dev")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (
            '[tool.lazymed.profiles.dev]\nlazzy = ["a"]\n',
            ["[tool.lazymed.profiles.dev]", "'lazzy'", "Did you mean 'lazy'?", "Valid keys"],
        ),
        (
            '[tool.lazymed.profiles.dev]\nfrom_import = "later"\n',
            ["[tool.lazymed.profiles.dev]", "'from_import'", "'later'"],
        ),
        (
            '[tool.lazymed.profiles.dev]\ndisabled_modules = "x"\n',
            ["[tool.lazymed.profiles.dev]", "'disabled_modules'"],
        ),
        (
            '[tool.lazymed.profiles.dev]\nlazy = ["ok", "not ok"]\n',
            ["[tool.lazymed.profiles.dev]", "'lazy'", "'not ok'"],
        ),
        (
            '[tool.lazymed.profiles.dev]\nlazy = ["a", "a"]\n',
            ["[tool.lazymed.profiles.dev]", "'lazy'", "listed twice"],
        ),
        (
            "[tool.lazymed.profiles.dev.profiles.inner]\nlazy = []\n",
            ["[tool.lazymed.profiles.dev]", "nested"],
        ),
        ('[tool.lazymed.profiles]\ndev = "x"\n', ["[tool.lazymed.profiles.dev]", "table"]),
        (
            "[tool.lazymed.profiles.dev.memory]\nlimit_mb = 1\n",
            ["[tool.lazymed.profiles.dev.memory]", "unknown key 'limit_mb'"],
        ),
    ],
    ids=["typo", "choice", "type", "name", "twice", "nested", "not-table", "sub-table"],
)
def test_invalid_profile_names_the_profile(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = write_pyproject(tmp_path, "[tool.lazymed]\n" + body)
    # Checked whether or not the profile is active: a broken profile never waits for the
    # deploy that activates it.
    for profile in ("dev", None):
        with pytest.raises(ConfigError) as info:
            lazymed.install(config=path, profile=profile)
        message = str(info.value)
        assert str(path) in message
        for fragment in fragments:
            assert fragment in message, message
    assert finders() == []


def test_profile_that_makes_a_lazy_module_critical_is_rejected(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path,
        """
        [tool.lazymed]
        lazy = ["pkg"]
        [tool.lazymed.profiles.ops]
        critical = ["pkg.core"]
        """,
    )
    load_config(path)  # fine without the profile
    with pytest.raises(ConfigError) as info:
        load_config(path, profile="ops")
    message = str(info.value)
    assert "'pkg.core'" in message
    assert "[tool.lazymed.profiles.ops]" in message  # where critical came from
    assert f"{path} [tool.lazymed]" in message  # where lazy came from


def test_profile_that_disables_a_critical_module_is_rejected(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path,
        """
        [tool.lazymed]
        critical = ["myapp.triage"]
        [tool.lazymed.profiles.development]
        disabled_modules = ["myapp"]
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, profile="development")
    message = str(info.value)
    assert "'myapp.triage'" in message and "disabled" in message
    assert "[tool.lazymed.profiles.development]" in message


# --------------------------------------------------------------------------- sources


def test_sources_say_which_layer_set_each_key(path: Path) -> None:
    cfg = load_config(path, profile="development")
    assert cfg.sources["lazy"] == f"{path} [tool.lazymed]"
    assert cfg.sources["disabled_modules"] == f"{path} [tool.lazymed.profiles.development]"
    assert cfg.describe("disabled_modules") == f"{path} [tool.lazymed.profiles.development]"
    bare = write_pyproject(path.parent / "bare", "[tool.lazymed]\n")
    assert load_config(bare).describe("lazy") == "default"
    assert load_config(bare).sources == {}


def test_disabled_module_error_names_the_profile(path: Path, pkgs: Packages) -> None:
    pkgs.module("lm_crit")
    pkgs.module("lm_dev_off")
    lazymed.install(config=path, profile="development")
    import lm_dev_off

    with pytest.raises(DisabledModuleError) as info:
        lm_dev_off.connect()
    message = str(info.value)
    assert "profile 'development'" in message
    assert f"{path} [tool.lazymed.profiles.development]" in message
    assert pkgs.runs == ["lm_crit"]
