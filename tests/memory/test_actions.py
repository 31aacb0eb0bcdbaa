"""The action registry, the chain runner and the built-in actions."""

from __future__ import annotations

import gc
import os
import threading
import time

import pytest

import lazymed.memory as memory
from lazymed.memory import _actions

from .conftest import MB, ScriptedSampler


@pytest.fixture
def registry() -> object:
    """Undo every action a test registers."""
    before = dict(_actions._ACTIONS)
    yield None
    _actions._ACTIONS.clear()
    _actions._ACTIONS.update(before)


def names(level: str) -> list[str]:
    return [a.name for a in memory.registered(level)]


def test_builtin_chains_by_level() -> None:
    assert names("warning") == ["gc"]
    assert names("critical") == ["gc", "clear_caches", "malloc_trim"]


def test_registered_actions_join_in_order(registry: object) -> None:
    # "evict" is registered by lazymed/memory/_evict.py when lazymed.memory is imported.
    assert [a.order for a in memory.registered() if a.name == "evict"] == [memory.ORDER_EVICT]
    memory.add_action("mine", lambda c: None)
    # A stand-in for lazymed.isolate's action (replace: isolate may have registered it).
    memory.add_action(
        "stop_isolated", lambda c: None, order=memory.ORDER_STOP_ISOLATED, replace=True
    )
    memory.add_action("early", lambda c: None, level="warning", order=1)
    assert names("warning") == ["early", "gc"]
    assert names("critical") == ["early", "gc", "clear_caches", "malloc_trim"]
    assert names("emergency") == [
        "early", "gc", "clear_caches", "stop_isolated", "evict", "mine", "malloc_trim",
    ]  # fmt: skip


def test_registry_errors_and_removal(registry: object) -> None:
    remove = memory.add_action("x", lambda c: None)
    with pytest.raises(ValueError, match="already registered"):
        memory.add_action("x", lambda c: None)
    memory.add_action("x", lambda c: "second", replace=True)
    remove()  # removes only the action it registered
    assert "x" in names("emergency")
    assert memory.remove_action("x") and not memory.remove_action("x")
    with pytest.raises(ValueError, match="level must be one of"):
        memory.add_action("y", lambda c: None, level="ok")
    with pytest.raises(ValueError, match="callable"):
        memory.add_action("y", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="other than"):
        memory.add_action("*", lambda c: None)


def test_report_statuses_and_the_chain_goes_on(registry: object) -> None:
    seen: list[memory.ActionContext] = []

    def broken(context: memory.ActionContext) -> None:
        raise RuntimeError("bug")

    def cannot(context: memory.ActionContext) -> None:
        raise memory.ActionUnavailable("no workers here")

    def fine(context: memory.ActionContext) -> dict[str, object]:
        seen.append(context)
        return {"detail": "did it", "count": 2}

    memory.add_action("a_broken", broken, order=51)
    memory.add_action("b_cannot", cannot, order=52)
    memory.add_action("c_fine", fine, order=53)
    memory.configure({"emergency_actions": ["c_fine", "a_broken", "b_cannot", "ghost"],
                      "budget_mb": 10})  # fmt: skip
    report = memory.optimize("emergency")
    by_name = {a.name: a for a in report.actions}
    assert [a.name for a in report.actions] == ["a_broken", "b_cannot", "c_fine", "ghost"]
    assert by_name["a_broken"].status == "failed"
    assert by_name["a_broken"].detail == "RuntimeError: bug"
    assert by_name["b_cannot"].status == "unavailable"
    assert by_name["b_cannot"].detail == "no workers here"
    assert by_name["c_fine"].status == "ok" and by_name["c_fine"].data["count"] == 2
    assert by_name["ghost"].status == "unavailable" and "registered:" in by_name["ghost"].detail
    context = seen[0]
    assert context.level == "emergency" and context.trigger == "optimize"
    assert context.budget_bytes == 10 * MB and context.over_budget() is (context.rss() > 10 * MB)
    assert context.settings["budget_mb"] == 10


def test_reports_never_claim_bytes_not_given_back(registry: object) -> None:
    keep: list[bytearray] = []

    def grows(context: memory.ActionContext) -> str:
        keep.append(bytearray(20 * MB))  # the "optimisation" makes things worse
        return "claims to have freed 1 GB"

    memory.add_action("grows", grows, level="warning", order=1)
    memory.configure({})
    report = memory.optimize("warning")
    action = report.actions[0]
    assert action.name == "grows"
    assert action.rss_after_bytes - action.rss_before_bytes >= 19 * MB
    assert action.rss_freed_bytes == 0 and action.uss_freed_bytes == 0
    for a in report.actions:
        assert a.rss_freed_bytes == max(0, a.rss_before_bytes - a.rss_after_bytes)
        assert a.seconds >= 0


def test_gc_action_reports_the_cycles_it_found() -> None:
    class Node:
        pass

    gc.collect()
    for _ in range(100):
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
    del a, b
    memory.configure({"warning_actions": ["gc"]})
    report = memory.optimize("warning")
    assert report.actions[0].data["unreachable"] >= 200


def test_malloc_trim_is_real_here_or_says_not_available() -> None:
    memory.configure({"critical_actions": ["malloc_trim"]})
    action = memory.optimize("critical").actions[0]
    if _actions.glibc_malloc_trim() is None:
        assert action.status == "unavailable" and "not available" in action.detail
    else:
        assert os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
        assert action.status == "ok" and isinstance(action.data["released"], bool)


def test_malloc_trim_unavailable_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_actions.sys, "platform", "darwin")
    memory.configure({"critical_actions": ["malloc_trim"]})
    action = memory.optimize("critical").actions[0]
    assert action.status == "unavailable"
    assert action.detail == "malloc_trim not available: macOS libc"


def test_chains_are_serialised(registry: object) -> None:
    inside = threading.Semaphore(1)
    overlaps: list[int] = []

    def slow(context: memory.ActionContext) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(1)
            return
        time.sleep(0.05)
        inside.release()

    memory.add_action("slow", slow, level="warning", order=1)
    memory.configure({"warning_actions": ["slow"]})
    threads = [threading.Thread(target=memory.optimize, args=("warning",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    assert len(memory.snapshot().actions) == 4


def test_optimize_default_level_and_bad_level() -> None:
    memory.configure({}, sampler=ScriptedSampler([(0, 10)]))
    assert memory.optimize().level == "critical"
    memory.configure({"min_dwell_s": 0}, sampler=ScriptedSampler([(0, 600)]))
    memory.step()  # enters emergency and runs its chain
    assert memory.optimize().level == "emergency"
    with pytest.raises(ValueError, match="level must be one of"):
        memory.optimize("ok")
