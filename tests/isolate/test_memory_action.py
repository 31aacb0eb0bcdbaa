"""isolate -> memory: the "stop isolated services" action registered with the governor's
public hook (``lazymed.memory.add_action``); the governor never imports isolate."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import psutil
import pytest

import lazymed.isolate as iso

Configure = Callable[..., str]


@pytest.fixture
def fake_memory(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """A stand-in ``lazymed.memory`` exposing the governor's registration contract."""
    calls: list[dict[str, Any]] = []
    module = types.ModuleType("lazymed.memory")

    def add_action(name: str, fn: Callable[[Any], Any], **options: Any) -> Callable[[], None]:
        calls.append({"name": name, "fn": fn, **options})
        return lambda: None

    module.add_action = add_action  # type: ignore[attr-defined]
    module.ORDER_STOP_ISOLATED = 30  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lazymed.memory", module)
    monkeypatch.setattr(iso, "_registered", [])
    return calls


def test_registers_once_when_the_governor_is_loaded(
    configure: Configure, fake_memory: list[dict[str, Any]]
) -> None:
    name = configure()
    iso.service(name)
    iso.service(name)
    assert [(c["name"], c["level"], c["order"]) for c in fake_memory] == [
        ("stop_isolated", "emergency", 30)
    ]


def test_no_governor_no_registration_and_no_import(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "lazymed.memory", raising=False)
    monkeypatch.setattr(iso, "_registered", [])
    iso.service(configure())
    assert "lazymed.memory" not in sys.modules
    assert iso._registered == []


def test_the_action_stops_idle_services_and_reports_what_returned(
    configure: Configure, fake_memory: list[dict[str, Any]]
) -> None:
    name = configure()
    svc = iso.service(name)
    pid = svc.pid()
    result = fake_memory[0]["fn"](None)
    assert result["detail"] == "stopped 1 isolated service(s)"
    (entry,) = result["services"]
    assert entry["name"] == name and entry["returned_bytes"] > 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    assert svc.echo(1) == 1  # the next call starts a fresh worker


def test_registered_with_the_real_governor(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lazymed.memory

    monkeypatch.setattr(iso, "_registered", [])
    name = configure()
    svc = iso.service(name)
    try:
        names = [a.name for a in lazymed.memory.registered("emergency")]  # type: ignore[attr-defined]
        assert "stop_isolated" in names
        assert svc.echo(2) == 2
        services = lazymed.memory.snapshot().as_dict()["services"]  # type: ignore[attr-defined]
        (entry,) = [s for s in services if s["name"] == name]
        assert entry["state"] == "running" and entry["pid"] == svc.pid()
    finally:
        for remove in iso._registered:
            remove()
        iso._registered.clear()
