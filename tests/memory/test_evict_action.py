"""Eviction as the governor's "evict" emergency action (lazymed.memory's action registry)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import run_json


def test_emergency_chain_evicts_idle_evictable_modules_least_recently_used_first(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.lazymed]
            lazy = ["first", "second", "busy"]
            [tool.lazymed.memory]
            evictable = ["second", "first", "busy", "neverloaded"]
            budget_mb = 1
            """
        )
    )
    for name in ("first", "second"):
        (tmp_path / f"{name}.py").write_text("DATA = [str(i) * 10 for i in range(100_000)]\n")
    (tmp_path / "busy.py").write_text(
        "def hold(event, started):\n    started.set()\n    event.wait(30)\n"
    )
    out = run_json(
        """
        import sys, json, threading
        sys.path.insert(0, ".")
        import lazymed
        lazymed.install()
        import lazymed.memory
        def use(name):
            __import__(name).__dict__  # import, then load by first use
            getattr(sys.modules[name], "DATA", None) or sys.modules[name].hold
        for name in ("busy", "second", "first"):
            use(name)
        event, started = threading.Event(), threading.Event()
        t = threading.Thread(target=sys.modules["busy"].hold, args=(event, started))
        t.start(); started.wait(30)
        from lazymed.memory import _evict
        _evict.note_use_from_stacks()  # "busy" was just seen in use
        order = _evict.idle_evictable()
        names = [a.name for a in lazymed.memory.registered("emergency")]
        report = lazymed.memory.optimize("emergency")
        event.set(); t.join()
        evict = [a for a in report.actions if a.name == "evict"][0]
        print(json.dumps({"order": order, "names": names, "status": evict.status,
                          "evictions": evict.data["evictions"],
                          "left": [n for n in ("first", "second", "busy") if n in sys.modules]}))
        """,
        cwd=tmp_path,
    )
    assert isinstance(out, dict)
    assert "evict" in out["names"]
    # never seen in use first, in configuration order; "busy" (seen on a stack) last
    assert out["order"] == ["second", "first", "busy"]
    assert out["status"] == "ok"
    results = {e["name"]: e for e in out["evictions"]}
    assert results["second"]["evicted"] and results["first"]["evicted"]
    assert results["busy"]["evicted"] is False
    assert "being called" in results["busy"]["reason"]
    assert out["left"] == ["busy"]


def test_each_monitor_reading_notes_which_evictable_modules_are_in_use(tmp_path: Path) -> None:
    """The monitor's step() records the last use eviction orders by (code on a thread's stack)."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lazymed]\nlazy = ["busy2", "idle2"]\n[tool.lazymed.memory]\n'
        'evictable = ["busy2", "idle2"]\n'
    )
    (tmp_path / "busy2.py").write_text(
        "def hold(event, started):\n    started.set()\n    event.wait(30)\n"
    )
    (tmp_path / "idle2.py").write_text("X = 1\n")
    out = run_json(
        """
        import sys, json, threading
        sys.path.insert(0, ".")
        import lazymed
        lazymed.install()
        import busy2, idle2
        idle2.X
        event, started = threading.Event(), threading.Event()
        t = threading.Thread(target=busy2.hold, args=(event, started))
        t.start(); started.wait(30)
        from lazymed.memory import _governor
        from lazymed._registry import REGISTRY
        before = REGISTRY.records["busy2"].last_used
        _governor.MONITOR.step()
        event.set(); t.join()
        print(json.dumps({"before": before, "busy": REGISTRY.records["busy2"].last_used,
                          "idle": REGISTRY.records["idle2"].last_used}))
        """,
        cwd=tmp_path,
    )
    assert isinstance(out, dict)
    assert out["before"] is None
    assert isinstance(out["busy"], float)
    assert out["idle"] is None
