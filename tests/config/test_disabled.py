"""``disabled_modules`` (issue 8): the import succeeds, nothing runs, first use raises
DisabledModuleError naming the module, profile, config file and import statement."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import Packages, run_python

import lazymed
from lazymed import ConfigError, DisabledModuleError

from ._util import last_json, subprocess_env, write_pyproject

CONFIG = """
[tool.lazymed]
lazy = ["lm_lazy", "lm_both"]
disabled_modules = ["lm_off", "lm_offpkg", "lm_real.heavy", "lm_nowhere.cloud.storage", "lm_both"]

[tool.lazymed.profiles.ci]
disabled_modules = ["lm_off"]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_pyproject(tmp_path / "proj", CONFIG)


@pytest.fixture
def installed(config: Path, pkgs: Packages) -> Packages:
    """CONFIG installed, with lm_off (a module), lm_offpkg (a package with submodules),
    lm_real (an enabled package) whose submodule lm_real.heavy is disabled."""
    pkgs.module("lm_off", "def connect():\n    return 'connected'\nVERSION = '1'\n")
    pkgs.module("lm_offpkg", "__version__ = '2'\n", package=True)
    pkgs.module("lm_offpkg.sub", "def f():\n    return 1\n")
    pkgs.module("lm_offpkg.sub.deep", "x = 1\n", package=True)
    pkgs.module("lm_real", "ok = True\n", package=True)
    pkgs.module("lm_real.heavy", "client = object()\n")
    pkgs.module("lm_both", "x = 1\n")
    pkgs.module("lm_lazy", "x = 1\n")
    lazymed.install(config=config)
    return pkgs


def test_import_succeeds_and_runs_nothing(installed: Packages) -> None:
    import lm_off
    import lm_offpkg
    import lm_offpkg.sub.deep

    assert installed.runs == []
    assert lm_off.__name__ == "lm_off"
    assert sys.modules["lm_off"] is lm_off
    assert sys.modules["lm_offpkg.sub.deep"] is not None
    st = lazymed.status()
    assert (st.module("lm_off").role, st.module("lm_off").state) == ("disabled", "disabled")
    assert st.module("lm_offpkg.sub.deep").state == "disabled"
    with pytest.raises(DisabledModuleError):
        lm_off.connect()
    with pytest.raises(DisabledModuleError):
        lm_off.VERSION
    with pytest.raises(DisabledModuleError):
        lm_offpkg.sub
    assert installed.runs == []  # failed uses ran nothing either


def test_enabled_parent_of_a_disabled_submodule_runs(installed: Packages) -> None:
    import lm_real.heavy

    assert installed.runs == ["lm_real"]
    assert lm_real.ok is True
    with pytest.raises(DisabledModuleError, match=r"'lm_real\.heavy'"):
        lm_real.heavy.client


def test_disabled_wins_over_lazy(installed: Packages) -> None:
    # The contract's own example: lazy in [tool.lazymed], disabled by a profile.
    import lm_both

    with pytest.raises(DisabledModuleError):
        lm_both.x
    assert installed.runs == []
    assert not lazymed.enabled("lm_both")


def test_disabled_module_that_is_not_installed_imports(installed: Packages) -> None:
    with pytest.raises(ModuleNotFoundError):
        import lm_nowhere_at_all  # noqa: F401  # control: not registered, not installed
    lazymed.uninstall()
    lazymed.install(disabled_modules=["lm_not_installed"], config=_bare(installed.root))
    import lm_not_installed

    with pytest.raises(DisabledModuleError, match="'lm_not_installed'"):
        lm_not_installed.Client()


def _bare(root: Path) -> Path:
    return write_pyproject(root.parent / "bare", "[tool.lazymed]\n")


def test_dotted_name_with_missing_parents_imports(installed: Packages) -> None:
    import lm_nowhere.cloud.storage
    from lm_nowhere.cloud import storage

    assert storage is sys.modules["lm_nowhere.cloud.storage"]
    assert lm_nowhere.cloud.storage is storage
    with pytest.raises(DisabledModuleError, match=r"'lm_nowhere\.cloud\.storage'"):
        lm_nowhere.cloud.storage.Client()
    with pytest.raises(DisabledModuleError):
        storage.Client
    # The stand-in parents do not make their other children importable.
    with pytest.raises(ModuleNotFoundError):
        import lm_nowhere.cloud.other
    with pytest.raises(ModuleNotFoundError):
        import lm_nowhere.elsewhere
    assert lazymed.enabled("lm_nowhere.cloud")
    assert not lazymed.enabled("lm_nowhere.cloud.storage.blob")


def test_from_import_of_a_submodule_with_missing_parents(installed: Packages) -> None:
    from lm_nowhere.cloud.storage import Client

    with pytest.raises(DisabledModuleError):
        Client()


# --------------------------------------------------------------------------- the error


def test_error_names_module_profile_file_and_import_statement(config: Path, pkgs: Packages) -> None:
    pkgs.module("lm_off", "def connect():\n    return 1\n")
    user = pkgs.module(
        "lm_user",
        "import lm_off\n\ndef use():\n    return lm_off.connect()\n",
    )  # the pkgs header takes lines 1-2: the import is line 3, the use line 6
    lazymed.install(config=config, profile="ci")
    import lm_user

    with pytest.raises(DisabledModuleError) as info:
        lm_user.use()
    error = info.value
    assert isinstance(error, ImportError)
    assert error.name == "lm_off"
    message = str(error)
    assert "'lm_off'" in message
    assert "profile 'ci'" in message
    assert str(config) in message
    assert f"imported at {user}:3" in message
    assert f"{user}:6" in message  # where it was used
    assert "lm_off.connect" in message
    assert pkgs.runs == ["lm_user"]


def test_error_without_profile_names_the_file_table(config: Path, installed: Packages) -> None:
    import lm_off

    with pytest.raises(DisabledModuleError) as info:
        lm_off.connect()
    message = str(info.value)
    assert f"{config} [tool.lazymed]" in message
    assert "profile '" not in message  # no profile is active


def test_error_is_raised_on_every_use(installed: Packages) -> None:
    import lm_off

    for _ in range(3):
        with pytest.raises(DisabledModuleError):
            lm_off.connect()
    assert installed.runs == []


def test_catchable_as_import_error(installed: Packages) -> None:
    import lm_off

    try:
        lm_off.connect()
    except ImportError as exc:  # the usual optional-dependency guard
        assert isinstance(exc, DisabledModuleError)
    else:  # pragma: no cover - the test fails here
        pytest.fail("no error")


@pytest.mark.parametrize(
    "probe",
    [
        lambda m: getattr(m, "__version__", None),
        lambda m: getattr(m, "__all__", None),
        lambda m: getattr(m, "__getattr__", None),
        lambda m: getattr(m, "__wrapped__", None),
        lambda m: hasattr(m, "__version__") or None,
        lambda m: hasattr(m, "__all__") or None,
    ],
    ids=["version", "all", "getattr", "wrapped", "hasattr-version", "hasattr-all"],
)
def test_dunder_probes_do_not_raise(installed: Packages, probe: object) -> None:
    import lm_offpkg

    assert callable(probe)
    assert probe(lm_offpkg) is None  # absent (its code never ran), not an error
    assert installed.runs == []


def test_spec_attributes_and_repr_do_not_raise(installed: Packages) -> None:
    import lm_offpkg

    assert lm_offpkg.__name__ == "lm_offpkg"
    assert lm_offpkg.__spec__ is not None and lm_offpkg.__spec__.name == "lm_offpkg"
    assert isinstance(lm_offpkg.__path__, list)
    assert "lm_offpkg" in repr(lm_offpkg)
    assert isinstance(dir(lm_offpkg), list)
    assert installed.runs == []


# --------------------------------------------------------------------------- from-imports


@pytest.mark.parametrize("mode", ["eager", "deferred"])
def test_from_import_binds_a_stand_in(config: Path, pkgs: Packages, mode: str) -> None:
    pkgs.module("lm_off", "def connect():\n    return 1\nLIMIT = 3\n")
    pkgs.module("lm_offpkg", package=True)
    pkgs.module("lm_offpkg.sub", "def f():\n    return 1\n")
    user = pkgs.module(
        "lm_user",
        "from lm_off import connect, LIMIT\nfrom lm_offpkg import sub\n",
    )
    lazymed.install(config=config, from_import=mode)
    import lm_user  # the statements succeed

    assert pkgs.runs == ["lm_user"]
    uses = [
        (lm_user.connect, "lm_off.connect", 3),
        (lambda: lm_user.connect.__name__, "lm_off.connect", 3),
        (lambda: lm_user.LIMIT + 1, "lm_off.LIMIT", 3),
        (lambda: str(lm_user.LIMIT), "lm_off.LIMIT", 3),
        (lambda: lm_user.sub.f(), "lm_offpkg.sub", 4),
    ]
    for use, what, line in uses:
        with pytest.raises(DisabledModuleError) as info:
            use()
        message = str(info.value)
        assert f"used as {what} at {__file__}:" in message, message
        assert f"imported at {user}:{line}" in message, message
    assert "disabled" in repr(lm_user.connect)  # a repr is not a use
    assert pkgs.runs == ["lm_user"]


@pytest.mark.parametrize("mode", ["eager", "deferred"])
def test_from_import_in_a_function(config: Path, pkgs: Packages, mode: str) -> None:
    pkgs.module("lm_off", "def connect():\n    return 1\n")
    lazymed.install(config=config, from_import=mode)
    from lm_off import connect

    with pytest.raises(DisabledModuleError, match=r"lm_off\.connect"):
        connect()
    assert pkgs.runs == []


def test_from_import_of_a_missing_disabled_module(config: Path, pkgs: Packages) -> None:
    lazymed.install(config=config)
    from lm_off import connect  # lm_off is not installed at all here

    with pytest.raises(DisabledModuleError):
        connect()


# --------------------------------------------------------------------------- chains


def test_lazy_module_needing_a_disabled_one_names_the_chain(config: Path, pkgs: Packages) -> None:
    pkgs.module("lm_off", "thing = 1\n")
    pkgs.module("lm_lazy", "import lm_off\nvalue = lm_off.thing\n")
    lazymed.install(config=config)
    import lm_lazy

    with pytest.raises(DisabledModuleError) as info:
        lm_lazy.value
    message = str(info.value)
    assert "needed while loading 'lm_lazy'" in message
    assert "'lm_off'" in message
    assert pkgs.runs == ["lm_lazy"]
    assert lazymed.status().module("lm_lazy").state == "failed"


def test_deferred_from_import_needing_a_disabled_one_names_the_chain(
    config: Path, pkgs: Packages
) -> None:
    pkgs.module("lm_off", "def thing():\n    return 1\n")
    pkgs.module("lm_lazy", "from lm_off import thing\nvalue = thing()\n")
    lazymed.install(config=config, from_import="deferred")
    import lm_lazy

    with pytest.raises(DisabledModuleError, match="needed while loading 'lm_lazy'"):
        lm_lazy.value


def test_chain_through_two_lazy_modules_names_both(tmp_path: Path, pkgs: Packages) -> None:
    # app -> lm_outer (lazy) -> lm_inner (lazy, imported while lm_outer loads) -> lm_off.
    pkgs.module("lm_off", "thing = 1\n")
    pkgs.module("lm_inner", "import lm_off\nvalue = lm_off.thing\n")
    pkgs.module("lm_outer", "import lm_inner\nvalue = lm_inner.value\n")
    path = write_pyproject(
        tmp_path / "chain",
        '[tool.lazymed]\nlazy = ["lm_outer", "lm_inner"]\ndisabled_modules = ["lm_off"]\n',
    )
    lazymed.install(config=path)
    import lm_outer

    with pytest.raises(DisabledModuleError) as info:
        lm_outer.value
    message = str(info.value)
    # lm_inner is the module that needed lm_off; the chain must say so.
    assert "needed while loading 'lm_outer' -> 'lm_inner'" in message, message


# --------------------------------------------------------------------------- enabled()


def test_enabled_answers_for_names_and_submodules(installed: Packages) -> None:
    assert not lazymed.enabled("lm_off")
    assert not lazymed.enabled("lm_off.anything.below")
    assert not lazymed.enabled("lm_real.heavy")
    assert not lazymed.enabled("lm_real.heavy.part")
    assert lazymed.enabled("lm_real")  # the parent stays enabled
    assert lazymed.enabled("lm_offer")  # a name that merely starts the same
    assert lazymed.enabled("lm_real.heavyweight")
    assert lazymed.enabled("lm_lazy")
    assert lazymed.enabled("json")
    assert installed.runs == []


def test_enabled_is_true_when_not_installed() -> None:
    assert lazymed.enabled("lm_off")
    assert lazymed.enabled("anything.at.all")


@pytest.mark.parametrize("bad", ["", "a..b", ".rel", "has space", "1x"])
def test_enabled_rejects_malformed_names(bad: str) -> None:
    with pytest.raises(ConfigError, match="enabled"):
        lazymed.enabled(bad)


def test_enabled_imports_nothing(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path / "proj",
        """
        [tool.lazymed]
        lazy = ["supabase", "llama_index.core"]
        disabled_modules = ["google.cloud.storage", "firebase_admin"]
        """,
    )
    names = [
        "google.cloud.storage",
        "google.cloud.storage.blob",
        "google.cloud",
        "google.cloud.storage_v2",
        "firebase_admin",
        "firebase_admin.auth",
        "supabase",
        "llama_index.core",
        "json",
        "not_installed_anywhere",
    ]
    code = f"""
        import json, sys
        import lazymed

        def ask():
            before = set(sys.modules)
            answers = [lazymed.enabled(n) for n in {names!r}]
            return answers, sorted(set(sys.modules) - before)

        not_installed = ask()
        lazymed.install(config={str(path)!r})
        installed = ask()
        heavy = sorted(n for n in sys.modules if n.split(".")[0] in
                       ("google", "firebase_admin", "supabase", "llama_index"))
        print(json.dumps([not_installed, installed, heavy]))
    """
    proc = run_python(code, cwd=tmp_path, env=subprocess_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    report = last_json(proc.stdout)
    assert isinstance(report, list)
    not_installed, installed, heavy = report
    assert not_installed == [[True] * len(names), []]
    assert installed == [
        [False, False, True, True, False, False, True, True, True, True],
        [],
    ]
    assert heavy == []


# --------------------------------------------------------------------------- config rules


def test_disabled_and_critical_across_layers_is_an_error(config: Path) -> None:
    with pytest.raises(ConfigError) as info:
        lazymed.install(config=config, critical=["lm_offpkg.sub"])
    message = str(info.value)
    assert "'lm_offpkg.sub'" in message
    assert "inside disabled 'lm_offpkg'" in message
    assert "install() keyword" in message
    assert str(config) in message


def test_disabled_and_critical_same_name_via_keywords(config: Path) -> None:
    with pytest.raises(ConfigError, match=r"'lm_x' is critical .* also disabled"):
        lazymed.install(config=config, critical=["lm_x"], disabled_modules=["lm_x"])
