"""flask and the five heavy packages registered together from ``[tool.lazymed]`` in pyproject.toml.

One program imports all six, then uses each in turn. Eager, the import statements load ~2,000
modules; under lazymed (configured by the file, ``lazymed.install()`` with no argument) they
load nothing but the registered names' parent namespaces, and first use of each works and gives
the eager result.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import effects, ours, state_changes, with_parents
from ._workloads import ALL, RunCache

KEYS = [w.key for w in ALL]
IMPORTS = [name for w in ALL for name in w.imports]


def test_install_reads_the_pyproject_table(real_runs: RunCache) -> None:
    lazy = real_runs.get(KEYS, "config")
    installed = lazy["installed"]
    assert installed["installed"] is True
    assert (
        Path(installed["config_path"]).resolve()
        == (lazy.script.parent / "pyproject.toml").resolve()
    )
    assert installed["profile"] is None


def test_importing_all_of_them_runs_none_of_them(real_runs: RunCache) -> None:
    lazy = real_runs.get(KEYS, "config")
    changes = state_changes(lazy["before_import"], lazy["after_import"])
    added = set(changes.pop("modules_added", []))
    assert added - ours(added) <= with_parents(IMPORTS), added
    assert changes == {}
    states = {name: s["state"] for name, s in lazy["status_after_import"].items()}
    assert states == {w.registered: "lazy" for w in ALL}


def test_importing_all_of_them_eagerly_does_run_them(real_runs: RunCache) -> None:
    """The counter-check: the same statements, eager, change every probe the lazy test reads
    that these packages touch: modules, atexit handlers, warnings filters."""
    eager = real_runs.get(KEYS, "eager")
    changes = state_changes(eager["before_import"], eager["after_import"])
    assert len(changes["modules_added"]) > 1000
    for w in ALL:
        assert any(m.startswith(w.registered + ".") for m in changes["modules_added"]), w
    assert changes["atexit_handlers"][1] > changes["atexit_handlers"][0]
    assert changes["warnings_filters"][1] != changes["warnings_filters"][0]


def test_first_use_of_each_gives_the_eager_results(real_runs: RunCache) -> None:
    eager = real_runs.get(KEYS, "eager")
    lazy = real_runs.get(KEYS, "config")
    for key in KEYS:
        assert eager[f"result:{key}"], key
        assert lazy[f"result:{key}"] == eager[f"result:{key}"], key
    # And the same as each package used alone (eager): using them together changes nothing.
    for key in KEYS:
        assert real_runs.get([key], "eager")[f"result:{key}"] == eager[f"result:{key}"], key


def test_after_first_use_everything_is_ordinary_and_loaded(real_runs: RunCache) -> None:
    lazy = real_runs.get(KEYS, "config")
    assert lazy["identity"] == {name: [True, True, "module"] for name in IMPORTS}
    for w in ALL:
        status = lazy["status_after_use"][w.registered]
        assert (status["role"], status["state"], status["error"]) == ("lazy", "loaded", None)
        used_file, _, used_line = status["first_used_at"].rpartition(":")
        assert Path(used_file).resolve() == lazy.script.resolve(), status
        assert int(used_line) in RunCache.use_span(lazy, w.key), status


def test_after_first_use_the_process_matches_eager(real_runs: RunCache) -> None:
    eager = real_runs.get(KEYS, "eager")
    lazy = real_runs.get(KEYS, "config")
    eager_modules = set(eager["after_use"]["modules"])
    lazy_modules = set(lazy["after_use"]["modules"])
    installed = set(lazy["post_install"]["modules"]) - set(lazy["pre_install"]["modules"])
    assert sorted(eager_modules - lazy_modules) == []
    assert sorted(lazy_modules - eager_modules - installed - ours(lazy_modules)) == []
    assert lazy["module_keys"] == eager["module_keys"]
    assert effects(lazy["post_install"], lazy["after_use"]) == effects(
        eager["post_install"], eager["after_use"]
    )
