"""snapshot(): one typed object, JSON-ready, with the documented keys."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psutil
import pytest

import lazymed
import lazymed.memory as memory

ROOT = Path(__file__).resolve().parents[2]


def test_snapshot_is_json_ready_with_every_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lazymed.memory import _snapshot

    # lazymed.isolate registers its own "services" section when an earlier test imported it
    monkeypatch.delitem(_snapshot._PROVIDERS, "services", raising=False)
    (tmp_path / "snapmod.py").write_text("X = 1\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    lazymed.install(lazy=["snapmod"])
    import snapmod

    remove = memory.add_provider("services", lambda: [{"name": "rag", "pid": 1, "rss_bytes": 5}])
    broken = memory.add_provider("other", lambda: 1 / 0)
    c = memory.cache(max_mb=1, name="snapcache")
    c["k"] = "v"
    memory.configure({})
    memory.optimize("warning")
    try:
        snap = memory.snapshot()
        data = snap.as_dict()
        json.dumps(data)  # JSON-ready
    finally:
        remove()
        broken()
    assert set(data) == {
        "pid", "wall", "monitor_running", "samples", "process", "cgroup", "pressure", "level",
        "vms_alert", "thresholds", "history", "leak", "modules", "caches", "services",
        "providers", "actions",
    }  # fmt: skip
    assert data["services"] == [{"name": "rag", "pid": 1, "rss_bytes": 5}]
    assert data["providers"]["other"] == {"error": "ZeroDivisionError: division by zero"}
    (mod,) = [m for m in data["modules"] if m["name"] == "snapmod"]
    assert mod["role"] == "lazy" and mod["state"] == "lazy"
    assert snapmod.X == 1  # loads it: nothing lazy stays pending after the test
    (mod,) = [m for m in memory.snapshot().as_dict()["modules"] if m["name"] == "snapmod"]
    assert mod["state"] == "loaded"
    assert any(s["name"] == "snapcache" and s["entries"] == 1 for s in data["caches"])
    assert data["actions"][0]["level"] == "warning"
    assert data["thresholds"]["warning"] == 100 * 1024 * 1024
    process = data["process"]
    assert "cgroup" not in process and process["gc_objects"] > 1000
    outside = psutil.Process().memory_info()  # the same process, read independently
    assert abs(process["rss_bytes"] - outside.rss) <= 0.05 * outside.rss


def test_docs_list_every_snapshot_key() -> None:
    doc = (ROOT / "docs" / "memory.md").read_text()
    memory.configure({})
    data = memory.snapshot().as_dict()
    documented = set(re.findall(r"^\| `([a-z_0-9.]+)` \|", doc, flags=re.M))
    for key in data:
        assert key in documented, f"snapshot key {key!r} is not documented in docs/memory.md"
    for key in data["process"]:
        assert f"process.{key}" in documented, f"process.{key} not documented"


def test_snapshot_without_config_reads_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lazymed.memory]\nwarning_mb = 150\n")
    monkeypatch.chdir(tmp_path)
    memory._governor.MONITOR.settings = None
    assert memory.snapshot().thresholds["warning"] == 150 * 1024 * 1024


def test_as_dict_stays_json_with_any_provider_data() -> None:
    """One plug-in returning an object, a set or NaN must not break the JSON of the snapshot;
    a provider that calls sys.exit() is reported, not propagated."""
    import json

    import lazymed.memory as mem

    remove_odd = mem.add_provider(
        "odd", lambda: {"obj": object(), "set": {2, 1}, "x": float("nan")}
    )

    def leaving() -> object:
        raise SystemExit(3)

    remove_exit = mem.add_provider("leaving", leaving)
    try:
        data = mem.snapshot().as_dict()
        text = json.dumps(data, allow_nan=False)
        odd = data["providers"]["odd"]
        assert odd["set"] == [1, 2] and odd["x"] == "nan" and odd["obj"].startswith("<object")
        assert "SystemExit" in data["providers"]["leaving"]["error"]
        assert text
    finally:
        remove_odd()
        remove_exit()
