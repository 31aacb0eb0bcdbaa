"""Core configuration (issue 2): discovery, explicit files, keywords, LAZYMED_DISABLE,
validation, idempotent install/uninstall, already-imported warnings and the parse cache."""

from __future__ import annotations

import logging
import marshal
import os
import sys
import types
from pathlib import Path

import pytest
from conftest import Packages, run_python

import lazymed
from lazymed import ConfigError, LazymedWarning, _config, _schema
from lazymed._config import load_config

from ._util import REPORT, finders, last_json, subprocess_env, write_pyproject, write_script

# --------------------------------------------------------------------------- discovery


def _install_script(path: Path) -> Path:
    return write_script(path, "import lazymed\nlazymed.install()\n" + REPORT)


def _run_script(script: Path, cwd: Path, tmp_path: Path) -> dict[str, object]:
    cwd.mkdir(parents=True, exist_ok=True)
    proc = run_python("", args=[str(script)], cwd=cwd, env=subprocess_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    report = last_json(proc.stdout)
    assert isinstance(report, dict)
    return report


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """repo/pyproject.toml [tool.lazymed] < repo/app/pyproject.toml (no table) <
    repo/app/svc/pyproject.toml [tool.lazymed]; elsewhere/pyproject.toml for the cwd."""
    root = tmp_path / "repo"
    return {
        "outer": write_pyproject(root, '[tool.lazymed]\nlazy = ["outer_pkg"]\n'),
        "no_table": write_pyproject(root / "app", '[project]\nname = "app"\n'),
        "inner": write_pyproject(root / "app" / "svc", '[tool.lazymed]\nlazy = ["inner_pkg"]\n'),
        "cwd": write_pyproject(tmp_path / "elsewhere", '[tool.lazymed]\nlazy = ["cwd_pkg"]\n'),
    }


def test_install_finds_nearest_pyproject_above_the_script(
    tree: dict[str, Path], tmp_path: Path
) -> None:
    script = _install_script(tmp_path / "repo" / "app" / "svc" / "bin" / "deep" / "run.py")
    report = _run_script(script, tmp_path / "elsewhere", tmp_path)
    assert report["config_path"] == str(tree["inner"])
    assert report["lazy"] == ["inner_pkg"]
    assert report["installed"] is True


def test_discovery_skips_a_pyproject_without_the_table(
    tree: dict[str, Path], tmp_path: Path
) -> None:
    # The nearest pyproject.toml (repo/app) has no [tool.lazymed]: keep walking up from the
    # script's directory, and prefer that chain over the working directory's file.
    script = _install_script(tmp_path / "repo" / "app" / "tools" / "run.py")
    report = _run_script(script, tmp_path / "elsewhere", tmp_path)
    assert report["config_path"] == str(tree["outer"])
    assert report["lazy"] == ["outer_pkg"]


def test_discovery_falls_back_to_the_working_directory(tmp_path: Path) -> None:
    project = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["from_cwd"]\n')
    script = _install_script(tmp_path / "scripts" / "run.py")  # nothing above the script
    report = _run_script(script, tmp_path / "proj" / "sub" / "dir", tmp_path)
    assert report["config_path"] == str(project)
    assert report["lazy"] == ["from_cwd"]


def test_discovery_without_a_script_walks_up_from_the_working_directory(tmp_path: Path) -> None:
    project = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["from_cwd"]\n')
    cwd = tmp_path / "proj" / "pkg"
    cwd.mkdir()
    proc = run_python(
        "import lazymed\nlazymed.install()\n" + REPORT, cwd=cwd, env=subprocess_env(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    report = last_json(proc.stdout)
    assert isinstance(report, dict)
    assert report["config_path"] == str(project)


def test_no_pyproject_anywhere_installs_with_defaults(tmp_path: Path) -> None:
    script = _install_script(tmp_path / "bare" / "run.py")
    report = _run_script(script, tmp_path / "bare", tmp_path)
    assert report == {
        "installed": True,
        "config_path": None,
        "profile": None,
        "lazy": [],
        "disabled": [],
    }


def test_discovery_follows_a_symlinked_script_to_its_project(tmp_path: Path) -> None:
    # /usr/local/bin/app -> /srv/proj/bin/run.py: Python itself resolves the link for
    # sys.path[0] (the project's code is imported from /srv/proj/bin), so the project's
    # pyproject.toml is the one above the real script.
    project = write_pyproject(tmp_path / "srv" / "proj", '[tool.lazymed]\nlazy = ["from_proj"]\n')
    real = _install_script(tmp_path / "srv" / "proj" / "bin" / "run.py")
    link_dir = tmp_path / "usr" / "local" / "bin"
    link_dir.mkdir(parents=True)
    (link_dir / "app").symlink_to(real)
    report = _run_script(link_dir / "app", tmp_path / "usr", tmp_path)
    assert report["config_path"] == str(project)


def test_load_config_start_dir_walks_up(tree: dict[str, Path], tmp_path: Path) -> None:
    deep = tmp_path / "repo" / "app" / "svc" / "a" / "b"
    deep.mkdir(parents=True)
    assert load_config(start_dir=str(deep)).path == str(tree["inner"])
    assert load_config(start_dir=str(tmp_path / "repo" / "app")).path == str(tree["outer"])
    # A second walk is served from the cache: the file without a table is still skipped.
    assert load_config(start_dir=str(tmp_path / "repo" / "app")).path == str(tree["outer"])


# --------------------------------------------------------------------------- explicit file


def test_config_argument_names_the_file(tmp_path: Path, pkgs: Packages) -> None:
    pkgs.module("lm_cfg_target")
    chosen = write_pyproject(tmp_path / "chosen", '[tool.lazymed]\nlazy = ["lm_cfg_target"]\n')
    lazymed.install(config=chosen)  # a PathLike
    st = lazymed.status()
    assert st.config_path == str(chosen)
    assert st.module("lm_cfg_target").role == "lazy"
    import lm_cfg_target

    assert pkgs.runs == []  # lazy: nothing ran at the import statement
    assert lm_cfg_target.__name__ == "lm_cfg_target"
    assert not hasattr(lm_cfg_target, "anything")  # first use
    assert pkgs.runs == ["lm_cfg_target"]


def test_config_argument_accepts_a_str(tmp_path: Path) -> None:
    chosen = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["x"]\n')
    assert load_config(str(chosen)).lazy == ("x",)


def test_config_file_without_the_table_is_an_error(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool\.lazymed\] table") as info:
        lazymed.install(config=path)
    assert str(path) in str(info.value)
    assert finders() == []


def test_lazymed_config_env_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_env = write_pyproject(tmp_path / "env", '[tool.lazymed]\nlazy = ["by_env"]\n')
    by_arg = write_pyproject(tmp_path / "arg", '[tool.lazymed]\nlazy = ["by_arg"]\n')
    monkeypatch.setenv("LAZYMED_CONFIG", str(by_env))
    cfg = load_config()
    assert (cfg.path, cfg.lazy) == (str(by_env), ("by_env",))
    # config= beats the variable.
    cfg = load_config(by_arg)
    assert (cfg.path, cfg.lazy) == (str(by_arg), ("by_arg",))
    lazymed.install()
    assert lazymed.status().config_path == str(by_env)


def test_relative_lazymed_config_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_pyproject(tmp_path / "conf", '[tool.lazymed]\nlazy = ["rel"]\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAZYMED_CONFIG", os.path.join("conf", "pyproject.toml"))
    cfg = load_config()
    assert (cfg.path, cfg.lazy) == (str(path), ("rel",))


def test_lazymed_config_in_a_subprocess_beats_discovery(tmp_path: Path) -> None:
    named = write_pyproject(tmp_path / "named", '[tool.lazymed]\nlazy = ["named"]\n')
    write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["discovered"]\n')
    script = _install_script(tmp_path / "proj" / "run.py")
    proc = run_python(
        "",
        args=[str(script)],
        cwd=tmp_path / "proj",
        env=subprocess_env(tmp_path, LAZYMED_CONFIG=str(named)),
    )
    assert proc.returncode == 0, proc.stderr
    report = last_json(proc.stdout)
    assert isinstance(report, dict)
    assert (report["config_path"], report["lazy"]) == (str(named), ["named"])


def test_lazymed_config_naming_a_missing_file_names_file_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "typo" / "pyproject.tml"
    monkeypatch.setenv("LAZYMED_CONFIG", str(missing))
    with pytest.raises(ConfigError) as info:
        lazymed.install()
    message = str(info.value)
    assert str(missing) in message
    # Where the path came from: otherwise a deploy's stray variable is a riddle.
    assert "LAZYMED_CONFIG" in message


# --------------------------------------------------------------------------- keywords


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A pyproject.toml registering lm_file_lazy (lazy) and lm_file_crit (critical)."""
    return write_pyproject(
        tmp_path / "proj",
        """
        [tool.lazymed]
        lazy = ["lm_file_lazy"]
        critical = ["lm_file_crit"]
        from_import = "eager"
        disabled_modules = ["lm_file_off"]
        """,
    )


def test_lazy_keyword_replaces_the_file_list(project: Path, pkgs: Packages) -> None:
    for name in ("lm_file_lazy", "lm_kw_lazy", "lm_file_crit"):
        pkgs.module(name)
    lazymed.install(config=project, lazy=["lm_kw_lazy"])
    assert pkgs.runs == ["lm_file_crit"]
    import lm_file_lazy  # no longer registered: eager
    import lm_kw_lazy

    assert pkgs.runs == ["lm_file_crit", "lm_file_lazy"]
    assert type(lm_file_lazy) is types.ModuleType
    assert not hasattr(lm_kw_lazy, "x")  # first use
    assert pkgs.runs[-1] == "lm_kw_lazy"
    assert lazymed.status().module("lm_kw_lazy").role == "lazy"


def test_critical_keyword_replaces_the_file_list(project: Path, pkgs: Packages) -> None:
    for name in ("lm_file_crit", "lm_kw_crit"):
        pkgs.module(name)
    lazymed.install(config=project, critical=["lm_kw_crit"])
    assert pkgs.runs == ["lm_kw_crit"]
    assert lazymed.status().module("lm_kw_crit").state == "loaded"


def test_from_import_keyword_overrides_the_file(project: Path, pkgs: Packages) -> None:
    pkgs.module("lm_file_lazy", "value = 42\n")
    pkgs.module("lm_file_crit")
    pkgs.module("lm_user", "from lm_file_lazy import value\n")  # a module-level from-import
    lazymed.install(config=project, from_import="deferred")
    assert lazymed.status().from_import == "deferred"
    import lm_user

    assert pkgs.runs == ["lm_file_crit", "lm_user"]  # deferred: the statement ran nothing
    assert lm_user.value == 42
    assert pkgs.runs == ["lm_file_crit", "lm_user", "lm_file_lazy"]


def test_disabled_modules_keyword_overrides_the_file(project: Path, pkgs: Packages) -> None:
    pkgs.module("lm_file_crit")
    pkgs.module("lm_file_off")
    pkgs.module("lm_kw_off")
    lazymed.install(config=project, disabled_modules=["lm_kw_off"])
    assert lazymed.enabled("lm_file_off")
    assert not lazymed.enabled("lm_kw_off")
    import lm_file_off
    import lm_kw_off

    assert type(lm_file_off) is types.ModuleType
    assert "lm_file_off" in pkgs.runs and "lm_kw_off" not in pkgs.runs
    with pytest.raises(lazymed.DisabledModuleError, match="install\\(\\) keyword"):
        lm_kw_off.thing


def test_none_keywords_keep_the_file_values(project: Path) -> None:
    cfg = load_config(
        project,
        overrides={"lazy": None, "critical": None, "from_import": None, "disabled_modules": None},
    )
    assert cfg.lazy == ("lm_file_lazy",)
    assert cfg.critical == ("lm_file_crit",)
    assert cfg.disabled_modules == ("lm_file_off",)


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"lazy": "numpy"}, ["install() keyword", "'lazy'", "list of module names"]),
        ({"critical": ["ok", 3]}, ["install() keyword", "'critical'", "strings"]),
        ({"from_import": "lazy"}, ["install() keyword", "'from_import'", "'deferred'"]),
        ({"disabled_modules": ["a..b"]}, ["install() keyword", "'disabled_modules'", "a..b"]),
        ({"lazy": ["x", "x"]}, ["install() keyword", "'lazy'", "listed twice"]),
    ],
    ids=["lazy-str", "critical-int", "from-import", "bad-name", "twice"],
)
def test_bad_keywords_raise_config_error(
    project: Path, kwargs: dict[str, object], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=project, **kwargs)  # type: ignore[arg-type]
    for fragment in fragments:
        assert fragment in str(info.value)
    assert finders() == []


# --------------------------------------------------------------------------- LAZYMED_DISABLE


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_lazymed_disable_makes_install_a_logged_no_op(
    value: str,
    project: Path,
    pkgs: Packages,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pkgs.module("lm_file_lazy")
    pkgs.module("lm_file_crit")
    monkeypatch.setenv("LAZYMED_DISABLE", value)
    meta_path = list(sys.meta_path)
    with caplog.at_level(logging.WARNING, logger="lazymed"):
        lazymed.install(config=project)
    records = [r for r in caplog.records if r.name == "lazymed"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert "LAZYMED_DISABLE" in records[0].getMessage()
    assert sys.meta_path == meta_path
    assert not lazymed.status().installed
    assert pkgs.runs == []  # critical modules are not imported either: nothing happens
    import lm_file_lazy

    assert pkgs.runs == ["lm_file_lazy"]  # registered lazy, yet eager
    assert type(lm_file_lazy) is types.ModuleType


@pytest.mark.parametrize("value", ["0", "", "false", "off"])
def test_lazymed_disable_false_values_install(
    value: str, project: Path, pkgs: Packages, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkgs.module("lm_file_lazy")
    pkgs.module("lm_file_crit")
    monkeypatch.setenv("LAZYMED_DISABLE", value)
    lazymed.install(config=project)
    assert len(finders()) == 1
    import lm_file_lazy  # noqa: F401

    assert "lm_file_lazy" not in pkgs.runs


def test_lazymed_disable_garbage_is_an_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAZYMED_DISABLE", "maybe")
    with pytest.raises(ConfigError, match="LAZYMED_DISABLE"):
        lazymed.install(config=project)
    assert finders() == []


def test_lazymed_disable_in_a_subprocess(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["json"]\n')
    proc = run_python(
        """
        import sys, lazymed
        lazymed.install()
        import json
        print(type(json).__name__, lazymed.status().installed, "json.decoder" in sys.modules)
        """,
        cwd=tmp_path,
        env=subprocess_env(tmp_path, LAZYMED_DISABLE="1"),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["module", "False", "True"]
    assert "LAZYMED_DISABLE" in proc.stderr  # the logged warning reaches the default handler


# --------------------------------------------------------------------------- validation

BAD_CONFIGS = [
    pytest.param(
        '[tool.lazymed]\nlazzy = ["a"]\n',
        ["unknown key 'lazzy'", "Did you mean 'lazy'?", "critical, deep, disabled_modules"],
        id="typo-lazy",
    ),
    pytest.param(
        '[tool.lazymed]\ndisabled_module = ["a"]\n',
        ["'disabled_module'", "Did you mean 'disabled_modules'?", "Valid keys"],
        id="typo-disabled",
    ),
    pytest.param(
        '[tool.lazymed]\nfrom_imports = "eager"\n',
        ["'from_imports'", "Did you mean 'from_import'?"],
        id="typo-from-import",
    ),
    pytest.param(
        '[tool.lazymed.profile.development]\nlazy = ["a"]\n',
        ["'profile'", "Did you mean 'profiles'?", "profiles"],
        id="typo-profiles",
    ),
    pytest.param(
        "[tool.lazymed]\nunrelated_zzz = 1\n",
        [
            "'unrelated_zzz'",
            "Valid keys: backend, critical, deep, disabled_modules, from_import, isolate, lazy",
        ],
        id="unknown",
    ),
    pytest.param(
        "[tool.lazymed.memory]\nlimit_mb = 512\n",
        ["[tool.lazymed.memory]", "unknown key 'limit_mb'", "Valid keys"],
        id="sub-table-memory",
    ),
    pytest.param('[tool.lazymed]\nlazy = "numpy"\n', ["'lazy'", "list"], id="lazy-str"),
    pytest.param("[tool.lazymed]\nlazy = [1]\n", ["'lazy'", "strings"], id="lazy-int"),
    pytest.param(
        "[tool.lazymed]\ncritical = {a = 1}\n", ["'critical'", "list"], id="critical-table"
    ),
    pytest.param(
        '[tool.lazymed]\ndisabled_modules = "x"\n', ["'disabled_modules'"], id="disabled-str"
    ),
    pytest.param("[tool.lazymed]\nfrom_import = true\n", ["'from_import'"], id="from-bool"),
    pytest.param(
        '[tool.lazymed]\nfrom_import = "lazy"\n',
        ["'from_import'", "'eager'", "'deferred'", "'lazy'"],
        id="from-choice",
    ),
    pytest.param(
        "[tool.lazymed]\nlazy = 1979-05-27T07:32:00Z\n", ["'lazy'", "list"], id="datetime"
    ),
    pytest.param('[tool.lazymed]\nlazy = ["a..b"]\n', ["'lazy'", "'a..b'"], id="empty-part"),
    pytest.param('[tool.lazymed]\nlazy = [".rel"]\n', ["'lazy'", "'.rel'"], id="relative"),
    pytest.param('[tool.lazymed]\nlazy = ["a."]\n', ["'lazy'", "'a.'"], id="trailing-dot"),
    pytest.param('[tool.lazymed]\ncritical = ["my app"]\n', ["'critical'", "'my app'"], id="space"),
    pytest.param('[tool.lazymed]\nlazy = ["1abc"]\n', ["'lazy'", "'1abc'"], id="digit"),
    pytest.param('[tool.lazymed]\nlazy = ["a-b"]\n', ["'lazy'", "'a-b'"], id="dash"),
    pytest.param('[tool.lazymed]\nlazy = [""]\n', ["'lazy'", "''"], id="empty"),
    pytest.param(
        '[tool.lazymed]\nlazy = ["a", "b", "a"]\n', ["'lazy'", "'a'", "listed twice"], id="twice"
    ),
    pytest.param(
        '[tool.lazymed]\ndisabled_modules = ["x.y", "x.y"]\n',
        ["'disabled_modules'", "'x.y'", "listed twice"],
        id="twice-disabled",
    ),
    pytest.param(
        '[tool.lazymed]\nlazy = ["a"]\ncritical = ["a"]\n',
        ["'a'", "critical", "lazy"],
        id="lazy-and-critical",
    ),
    pytest.param(
        '[tool.lazymed]\nlazy = ["pkg"]\ncritical = ["pkg.core"]\n',
        ["'pkg.core'", "critical", "inside lazy 'pkg'"],
        id="critical-inside-lazy",
    ),
    pytest.param(
        '[tool.lazymed]\ndisabled_modules = ["a"]\ncritical = ["a"]\n',
        ["'a'", "critical", "disabled"],
        id="disabled-and-critical",
    ),
    pytest.param(
        '[tool.lazymed]\ndisabled_modules = ["pkg"]\ncritical = ["pkg.core"]\n',
        ["'pkg.core'", "critical", "inside disabled 'pkg'"],
        id="critical-inside-disabled",
    ),
    pytest.param("[tool]\nlazymed = 1\n", ["[tool.lazymed] must be a table"], id="not-a-table"),
    pytest.param("[tool.lazymed]\nprofiles = 1\n", ["profiles"], id="profiles-not-table"),
    pytest.param(
        '[tool.lazymed]\nlazy = ["a"\n', ["invalid TOML", "Unclosed array"], id="invalid-toml"
    ),
    pytest.param(
        "[tool.lazymed]\nlazy = [a]\n", ["invalid TOML", "line 2"], id="invalid-toml-bare"
    ),
    pytest.param(
        '[tool.lazymed]\nlazy = ["a"]\nlazy = ["b"]\n', ["invalid TOML"], id="duplicate-key"
    ),
]


@pytest.mark.parametrize(("body", "fragments"), BAD_CONFIGS)
def test_bad_config_raises_config_error_naming_file_and_key(
    tmp_path: Path, body: str, fragments: list[str]
) -> None:
    path = write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert finders() == []
    assert not lazymed.status().installed


@pytest.mark.parametrize(("body", "fragments"), BAD_CONFIGS[:3] + BAD_CONFIGS[-3:])
def test_bad_config_is_found_by_discovery_too(
    tmp_path: Path, body: str, fragments: list[str]
) -> None:
    path = write_pyproject(tmp_path / "proj", body)
    (tmp_path / "proj" / "src").mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(start_dir=str(tmp_path / "proj" / "src"))
    assert str(path) in str(info.value)


def test_bad_config_is_rejected_again_on_a_cache_hit(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazzy = ["a"]\n')
    for _ in range(2):  # the second read is a cache hit: still validated
        with pytest.raises(ConfigError, match="lazzy"):
            load_config(path)


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b'[tool.lazymed]\nlazy = ["caf\xe9"]\n')
    with pytest.raises(ConfigError, match="invalid TOML") as info:
        lazymed.install(config=path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "pyproject.toml"
    with pytest.raises(ConfigError, match="cannot read") as info:
        lazymed.install(config=path)
    assert str(path) in str(info.value)
    assert finders() == []


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    # Running as root defeats chmod; a directory is a path that stat()s but cannot be read.
    path = tmp_path / "pyproject.toml"
    path.mkdir()
    with pytest.raises(ConfigError, match="cannot read") as info:
        lazymed.install(config=path)
    assert str(path) in str(info.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


# --------------------------------------------------------------------------- idempotence


def test_second_install_with_the_same_config_does_nothing(project: Path, pkgs: Packages) -> None:
    pkgs.module("lm_file_crit")
    lazymed.install(config=project)
    before = lazymed.status()
    lazymed.install(config=project)
    lazymed.install(config=str(project))
    assert len(finders()) == 1
    assert pkgs.runs == ["lm_file_crit"]  # the critical module was not imported again
    assert lazymed.status() == before


def test_second_install_with_the_same_keywords_does_nothing(project: Path, pkgs: Packages) -> None:
    pkgs.module("lm_file_crit")
    lazymed.install(config=project, lazy=["a", "b"], from_import="deferred")
    lazymed.install(config=project, lazy=("a", "b"), from_import="deferred")
    assert len(finders()) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"lazy": ["other"]},
        {"from_import": "deferred"},
        {"disabled_modules": []},
        {"config": "other-file"},
    ],
    ids=["lazy", "from-import", "disabled", "file"],
)
def test_second_install_with_a_different_config_raises(
    change: dict[str, object], project: Path, pkgs: Packages, tmp_path: Path
) -> None:
    pkgs.module("lm_file_crit")
    pkgs.module("lm_file_lazy")
    lazymed.install(config=project)
    if change.get("config") == "other-file":
        other = write_pyproject(tmp_path / "other", '[tool.lazymed]\nlazy = ["lm_file_lazy"]\n')
        change = {"config": other}
    else:
        change = {"config": project, **change}
    with pytest.raises(ConfigError, match="already installed with a different configuration"):
        lazymed.install(**change)  # type: ignore[arg-type]
    # The first configuration stays in force.
    assert len(finders()) == 1
    st = lazymed.status()
    assert st.config_path == str(project)
    import lm_file_lazy  # noqa: F401

    assert "lm_file_lazy" not in pkgs.runs


def test_uninstall_removes_the_finder_and_loaded_modules_keep_working(
    project: Path, pkgs: Packages
) -> None:
    pkgs.module("lm_file_crit", "def ping():\n    return 'crit'\n")
    pkgs.module("lm_file_lazy", "def ping():\n    return 'lazy'\n")
    pkgs.module("lm_used", "def ping():\n    return 'used'\n")
    lazymed.install(config=project, lazy=["lm_file_lazy", "lm_used"])
    import lm_file_crit
    import lm_file_lazy
    import lm_used

    assert lm_used.ping() == "used"  # loaded before uninstall
    lazymed.uninstall()
    assert finders() == []
    assert not lazymed.status().installed
    assert lm_file_crit.ping() == "crit"
    assert lm_used.ping() == "used"
    assert "lm_file_lazy" not in pkgs.runs
    assert lm_file_lazy.ping() == "lazy"  # still pending at uninstall: loads on first use
    assert type(lm_file_lazy) is types.ModuleType
    lazymed.uninstall()  # a second uninstall is a no-op
    assert finders() == []


def test_imports_after_uninstall_are_ordinary(project: Path, pkgs: Packages) -> None:
    pkgs.module("lm_file_crit")
    pkgs.module("lm_file_lazy")
    pkgs.module("lm_file_off")
    lazymed.install(config=project)
    lazymed.uninstall()
    import lm_file_lazy
    import lm_file_off

    assert type(lm_file_lazy) is types.ModuleType
    assert type(lm_file_off) is types.ModuleType
    assert pkgs.runs == ["lm_file_crit", "lm_file_lazy", "lm_file_off"]
    assert lazymed.enabled("lm_file_off")


def test_install_after_uninstall_may_use_another_config(
    project: Path, pkgs: Packages, tmp_path: Path
) -> None:
    pkgs.module("lm_file_crit")
    pkgs.module("lm_second")
    lazymed.install(config=project)
    lazymed.uninstall()
    other = write_pyproject(tmp_path / "other", '[tool.lazymed]\nlazy = ["lm_second"]\n')
    lazymed.install(config=other)
    assert len(finders()) == 1
    assert lazymed.status().config_path == str(other)
    import lm_second  # noqa: F401

    assert "lm_second" not in pkgs.runs


# --------------------------------------------------------------------------- already imported


def test_lazy_module_already_imported_warns_naming_it(project: Path, pkgs: Packages) -> None:
    pkgs.module("lm_file_crit")
    pkgs.module("lm_file_lazy", "value = 7\n")
    import lm_file_lazy

    with pytest.warns(LazymedWarning, match="'lm_file_lazy'") as caught:
        lazymed.install(config=project)
    warned = [w for w in caught if issubclass(w.category, LazymedWarning)]
    assert len(warned) == 1
    assert warned[0].filename == __file__  # points at the install() call
    assert "already imported" in str(warned[0].message)
    assert sys.modules["lm_file_lazy"] is lm_file_lazy
    assert type(lm_file_lazy) is types.ModuleType
    assert lm_file_lazy.value == 7
    assert pkgs.runs.count("lm_file_lazy") == 1
    assert lazymed.status().module("lm_file_lazy").state == "loaded"


def test_no_warning_when_nothing_registered_was_imported(
    project: Path, pkgs: Packages, recwarn: pytest.WarningsRecorder
) -> None:
    pkgs.module("lm_file_crit")
    lazymed.install(config=project)
    assert [w for w in recwarn if issubclass(w.category, LazymedWarning)] == []


# --------------------------------------------------------------------------- parse cache


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths the loader parsed with tomllib (a spy: the real parser still runs)."""
    calls: list[str] = []
    real = _config._parse

    def spy(path: str) -> dict[str, object] | None:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(_config, "_parse", spy)
    return calls


def _cache_dir() -> Path:
    return Path(os.environ["LAZYMED_CACHE_DIR"])


def test_second_read_is_served_from_the_cache(tmp_path: Path, parse_calls: list[str]) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    first = load_config(path)
    second = load_config(path)
    assert parse_calls == [str(path)]
    assert first == second and second.lazy == ("a",)
    assert len(list(_cache_dir().glob("*.marshal"))) == 1


def test_cache_hit_does_not_import_tomllib(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["lm_x", "lm_y"]\n')
    code = f"""
        import sys
        import lazymed
        lazymed.install(config={str(path)!r})
        parsed = "tomllib" in sys.modules
        import json
        from lazymed._registry import REGISTRY
        print(json.dumps([parsed, list(REGISTRY.config.lazy)]))
    """
    env = subprocess_env(tmp_path)

    def run() -> object:
        proc = run_python(code, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
        return last_json(proc.stdout)

    assert run() == [True, ["lm_x", "lm_y"]]  # cold cache: parsed
    assert run() == [False, ["lm_x", "lm_y"]]  # warm cache: tomllib never imported
    path.write_text('[tool.lazymed]\nlazy = ["lm_z"]\n')
    assert run() == [True, ["lm_z"]]  # edited: parsed again
    assert run() == [False, ["lm_z"]]


def test_editing_the_file_invalidates_the_cache(tmp_path: Path, parse_calls: list[str]) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    assert load_config(path).lazy == ("a",)
    path.write_text('[tool.lazymed]\nlazy = ["a", "bb"]\n')  # other size
    assert load_config(path).lazy == ("a", "bb")
    st = path.stat()
    path.write_text('[tool.lazymed]\nlazy = ["a", "cc"]\n')  # same size, later mtime
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert load_config(path).lazy == ("a", "cc")
    assert len(parse_calls) == 3
    assert load_config(path).lazy == ("a", "cc")
    assert len(parse_calls) == 3  # and the new content is cached


def test_a_changed_schema_invalidates_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_calls: list[str]
) -> None:
    # The cache is keyed by the bytes of the schema's source, so a hit never imports
    # lazymed._schema; tables validated against another schema (an upgrade, an edit, even one
    # that keeps size and mtime) are not served. The same bytes elsewhere (another install of
    # the same version) are the same key.
    schema_file = tmp_path / "schema" / "_schema.py"
    schema_file.parent.mkdir()
    schema_file.write_text("# schema A\n")
    monkeypatch.setattr(_config, "_SCHEMA_FILE", str(schema_file))
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    assert load_config(path).lazy == ("a",)
    assert load_config(path).lazy == ("a",)
    assert len(parse_calls) == 1
    st = schema_file.stat()
    schema_file.write_text("# schema B\n")  # same size
    os.utime(schema_file, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime
    assert load_config(path).lazy == ("a",)
    assert len(parse_calls) == 2
    assert load_config(path).lazy == ("a",)
    assert len(parse_calls) == 2
    other = tmp_path / "other-install" / "_schema.py"  # another copy, new inode and times
    other.parent.mkdir()
    other.write_text("# schema B\n")
    monkeypatch.setattr(_config, "_SCHEMA_FILE", str(other))
    assert load_config(path).lazy == ("a",)
    assert len(parse_calls) == 2  # shared


def test_without_the_schema_source_the_cache_keys_on_the_schema_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_calls: list[str]
) -> None:
    # A sourceless or zipped install has no _schema.py to read: the schema's data is the key.
    monkeypatch.setattr(_config, "_SCHEMA_FILE", str(tmp_path / "absent" / "_schema.py"))
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    assert load_config(path).table["memory"]["warning_mb"] == 100
    assert load_config(path).table["memory"]["warning_mb"] == 100
    assert len(parse_calls) == 1
    (cache,) = _cache_dir().glob("*.marshal")
    assert marshal.loads(cache.read_bytes())[4] is not None  # validated tables stored
    monkeypatch.setitem(_schema.DEFAULTS, "memory", {**_schema.MEMORY_DEFAULTS, "warning_mb": 90})
    assert load_config(path).table["memory"]["warning_mb"] == 90  # other defaults: a miss
    assert len(parse_calls) == 2


def test_a_process_holding_an_older_schema_does_not_store_under_the_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lazymed upgraded in place while this process runs with the schema it imported before (or
    # a stale .pyc ran): its validation (old defaults) must not be filed under the new file's
    # key, or every later start would be served the old defaults.
    monkeypatch.setitem(_schema.DEFAULTS, "memory", {**_schema.MEMORY_DEFAULTS, "budget_mb": 49})
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["a"]\n')
    assert load_config(path).lazy == ("a",)
    (cache,) = _cache_dir().glob("*.marshal")
    assert marshal.loads(cache.read_bytes())[4] is None  # the raw table only
    code = f"""
        import json, marshal
        from lazymed._config import load_config
        load_config({str(path)!r})
        print(json.dumps(marshal.loads(open({str(cache)!r}, "rb").read())[4] is not None))
    """
    env = {"LAZYMED_CACHE_DIR": os.environ["LAZYMED_CACHE_DIR"]}
    proc = run_python(code, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout) is True  # a fresh process, the current schema: stored


def test_another_lazymed_version_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_calls: list[str]
) -> None:
    # A release may change the validator and not the schema: the version is part of the key.
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    assert load_config(path).lazy == ("a",)
    assert load_config(path).lazy == ("a",)
    assert len(parse_calls) == 1
    monkeypatch.setattr(lazymed, "__version__", "99.0")
    assert load_config(path).lazy == ("a",)
    assert len(parse_calls) == 2


def test_two_installs_of_the_same_version_share_cache_entries(tmp_path: Path) -> None:
    # Two copies of the package (two virtual environments, tox environments) reading one
    # pyproject.toml through one cache directory: after the first parse, both hit.
    import shutil

    for copy in ("one", "two"):
        shutil.copytree(
            Path(lazymed.__file__).parent,
            tmp_path / copy / "lazymed",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["lm_x"]\n')
    code = f"""
        import json, sys
        import lazymed
        lazymed.install(config={str(path)!r})
        print(json.dumps([lazymed.__file__, "tomllib" in sys.modules]))
    """
    seen = []
    for copy in ("one", "two", "one", "two"):
        env = {"LAZYMED_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path / copy)}
        proc = run_python(code, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
        where, parsed = last_json(proc.stdout)  # type: ignore[misc]
        assert where.startswith(str(tmp_path / copy))
        seen.append(parsed)
    assert seen == [True, False, False, False]


def test_a_cache_hit_brings_the_defaults_it_was_validated_with(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    cold = load_config(path)
    warm = load_config(path)
    assert warm.table == cold.table == _config.merge(_schema.DEFAULTS, cold.table)
    assert warm.table["web"] == _schema.WEB_DEFAULTS and warm.sources == cold.sources


def test_keyword_kinds_agree_with_the_schema() -> None:
    # _plainly_valid's own copy of the keyword kinds (it must not read the schema at start-up).
    import inspect

    keywords = set(inspect.signature(lazymed.install).parameters) - {"config", "profile"}
    modules = {k for k in keywords if _schema.SCHEMA[k] == _schema.MODULES}
    choices = {k: _schema.SCHEMA[k][1] for k in keywords if _schema.SCHEMA[k][0] == "choice"}
    assert set(_config.KEYWORD_MODULES) == modules
    assert choices == _config.KEYWORD_CHOICES
    assert modules | set(choices) == keywords


def test_replacing_the_file_invalidates_the_cache(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["a"]\n')
    st = path.stat()
    assert load_config(path).lazy == ("a",)
    new = tmp_path / "new.toml"
    new.write_text('[tool.lazymed]\nlazy = ["z"]\n')  # same size
    os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))  # even the same mtime
    os.replace(new, path)  # another inode, as editors that save atomically do
    assert load_config(path).lazy == ("z",)


def test_cache_entries_are_per_file(tmp_path: Path) -> None:
    one = write_pyproject(tmp_path / "one", '[tool.lazymed]\nlazy = ["one"]\n')
    two = write_pyproject(tmp_path / "two", '[tool.lazymed]\nlazy = ["two"]\n')
    for _ in range(2):
        assert load_config(one).lazy == ("one",)
        assert load_config(two).lazy == ("two",)


def _corrupt_payloads(path: Path) -> list[bytes]:
    st = path.stat()
    good = marshal.dumps(
        (1, str(path), (st.st_size, st.st_mtime_ns, st.st_ino), {"lazy": ["evil"]})
    )
    return [
        b"",
        b"\xff\xfe not marshal at all",
        b"garbage that happens to start with a float code",
        good[: len(good) // 2],
        marshal.dumps(12),
        marshal.dumps((1, 2)),
        marshal.dumps(("x", "y", "z", "w", "v")),
        # Well formed but for another file / another stamp / a future format: not served.
        marshal.dumps((1, "/elsewhere/pyproject.toml", (1, 2, 3), {"lazy": ["evil"]})),
        marshal.dumps((1, str(path), (0, 0, 0), {"lazy": ["evil"]})),
        marshal.dumps((99, str(path), (st.st_size, st.st_mtime_ns, st.st_ino), {"lazy": ["x"]})),
    ]


def test_corrupt_cache_file_is_ignored_and_rewritten(
    tmp_path: Path, parse_calls: list[str]
) -> None:
    path = write_pyproject(tmp_path, '[tool.lazymed]\nlazy = ["good"]\n')
    load_config(path)
    (cache,) = _cache_dir().glob("*.marshal")
    payloads = _corrupt_payloads(path)
    for payload in payloads:
        cache.write_bytes(payload)
        assert load_config(path).lazy == ("good",), payload
        version, cached_path, _stamp, table, validated = marshal.loads(cache.read_bytes())
        assert (version, cached_path, table) == (4, str(path), {"lazy": ["good"]})
        assert validated == ({"lazy": ("good",)}, {}, _schema.DEFAULTS)
    assert len(parse_calls) == 1 + len(payloads)
    load_config(path)
    assert len(parse_calls) == 1 + len(payloads)  # the rewritten entry is a hit again


def test_corrupt_cache_file_is_ignored_in_a_subprocess(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["good"]\n')
    env = subprocess_env(tmp_path)
    code = f"import lazymed\nlazymed.install(config={str(path)!r})\n{REPORT}"
    assert run_python(code, cwd=tmp_path, env=env).returncode == 0
    caches = list(Path(env["LAZYMED_CACHE_DIR"]).glob("*.marshal"))
    assert len(caches) == 1
    caches[0].write_bytes(b"\x00\x01corrupt")
    proc = run_python(code, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    report = last_json(proc.stdout)
    assert isinstance(report, dict)
    assert report["lazy"] == ["good"]


def test_cache_dir_that_is_a_file_is_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_calls: list[str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("occupied")
    monkeypatch.setenv("LAZYMED_CACHE_DIR", str(blocker))
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["a"]\n')
    assert load_config(path).lazy == ("a",)
    assert load_config(path).lazy == ("a",)
    assert len(parse_calls) == 2  # nothing cached, nothing broken
    assert blocker.read_text() == "occupied"
    lazymed.install(config=path)
    assert lazymed.status().installed


def test_cache_dir_below_a_file_is_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("LAZYMED_CACHE_DIR", str(blocker / "sub" / "dir"))
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["a"]\n')
    assert load_config(path).lazy == ("a",)
    assert load_config(path).lazy == ("a",)


def test_cache_entry_that_cannot_be_replaced_is_harmless(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["a"]\n')
    entry = _config._cache_file(str(path))
    assert entry is not None
    Path(entry).mkdir(parents=True)  # a directory where the cache file should go
    assert load_config(path).lazy == ("a",)
    assert load_config(path).lazy == ("a",)
    assert [p.name for p in _cache_dir().iterdir()] == [Path(entry).name]  # no stray temp file


def test_unwritable_cache_dir_in_a_subprocess(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["a"]\n')
    proc = run_python(
        f"import lazymed\nlazymed.install(config={str(path)!r})\n{REPORT}",
        cwd=tmp_path,
        env={"LAZYMED_CACHE_DIR": str(blocker)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    report = last_json(proc.stdout)
    assert isinstance(report, dict)
    assert report["lazy"] == ["a"]


def test_empty_cache_dir_disables_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_calls: list[str]
) -> None:
    monkeypatch.setenv("LAZYMED_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["a"]\n')
    load_config(path)
    load_config(path)
    assert len(parse_calls) == 2
    assert not (tmp_path / "xdg").exists()


def test_default_cache_dir_is_under_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAZYMED_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    path = write_pyproject(tmp_path / "proj", '[tool.lazymed]\nlazy = ["a"]\n')
    load_config(path)
    assert len(list((tmp_path / "xdg" / "lazymed").glob("*.marshal"))) == 1


# --------------------------------------------------------------------------- critical modules


def test_critical_modules_are_imported_at_install_in_order(tmp_path: Path, pkgs: Packages) -> None:
    for name in ("lm_c1", "lm_c2", "lm_c3"):
        pkgs.module(name)
    path = write_pyproject(tmp_path, '[tool.lazymed]\ncritical = ["lm_c3", "lm_c1", "lm_c2"]\n')
    lazymed.install(config=path)
    assert pkgs.runs == ["lm_c3", "lm_c1", "lm_c2"]
    assert all(type(sys.modules[n]) is types.ModuleType for n in pkgs.runs)
    assert [lazymed.status().module(n).state for n in pkgs.runs] == ["loaded"] * 3


def test_failing_critical_module_leaves_nothing_installed(project: Path, pkgs: Packages) -> None:
    pkgs.module("lm_file_crit", "raise RuntimeError('boom')\n")
    with pytest.raises(RuntimeError, match="boom") as info:
        lazymed.install(config=project)
    notes = getattr(info.value, "__notes__", [])
    assert any("'lm_file_crit'" in note and str(project) in note for note in notes), notes
    assert finders() == []
    assert not lazymed.status().installed
    assert lazymed.status().module("lm_file_crit").state == "failed"
    # Fixed, the next install() works.
    pkgs.module("lm_file_crit")
    lazymed.install(config=project)
    assert len(finders()) == 1


def test_missing_critical_module_raises_module_not_found(project: Path) -> None:
    with pytest.raises(ModuleNotFoundError) as info:
        lazymed.install(config=project)
    assert info.value.name == "lm_file_crit"
    assert any("lm_file_crit" in note for note in getattr(info.value, "__notes__", []))
    assert finders() == []


def test_abbreviated_key_before_its_unit_is_suggested() -> None:
    from lazymed._typos import close_matches

    assert close_matches("warn_mb", ["warning_mb", "critical_mb", "budget_mb"], suffixes=True) == [
        "warning_mb"
    ]
    assert close_matches("warn_mb", ["warning_mb"]) == []  # module names: no unit rule
    assert close_matches("wa_mb", ["warning_mb"], suffixes=True) == []  # stem too short to tell
