"""lazymed.isolate on the process backend: answers, handles, faults, recycling, stop, status.

No timings decide a pass or a fail here; timeouts are generous hang guards only.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import psutil
import pytest

import lazymed.isolate as iso
from lazymed import ConfigError

Configure = Callable[..., str]


def wait_for(predicate: Callable[[], bool], guard_s: float = 60.0) -> None:
    """Poll until ``predicate()``; fail after ``guard_s`` (a hang guard, not a timing)."""
    deadline = time.monotonic() + guard_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached within the hang guard"
        time.sleep(0.05)


def status_of(name: str) -> iso.ServiceStatus:
    return next(s for s in iso.status() if s.name == name)


def test_answers_equal_in_process_answers(configure: Configure, service_module: str) -> None:
    name = configure()
    svc = iso.service(name)
    module = __import__(service_module)
    local = module.build()
    for args in [("text",), ({"a": [1, 2.5, None]},), (b"\x00" * 10,)]:
        assert svc.echo(*args) == local.echo(*args)
    assert svc.add(2, b=3) == local.add(2, b=3) == 5
    assert svc.pid() != os.getpid()


def test_service_module_is_never_imported_in_the_caller(
    configure: Configure, service_module: str
) -> None:
    svc = iso.service(configure())
    assert service_module in svc.modules()
    assert service_module not in sys.modules


def test_first_call_starts_the_worker_lazily(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    assert status_of(name).state == "stopped"
    assert status_of(name).pid is None
    svc.echo(1)
    st = status_of(name)
    assert st.state == "running" and st.pid is not None
    assert st.rss_bytes == psutil.Process(st.pid).memory_info().rss or st.rss_bytes > 0
    assert st.calls == 1 and st.restarts == 0 and st.factory_seconds is not None


def test_status_rss_agrees_with_psutil_from_outside(configure: Configure) -> None:
    name = configure()
    iso.service(name).allocate_mb(30)
    st = status_of(name)
    assert st.pid is not None and st.rss_bytes is not None
    outside = psutil.Process(st.pid).memory_info().rss
    assert abs(outside - st.rss_bytes) < 2 * 2**20
    assert st.rss_bytes > 30 * 2**20


def test_exception_in_method_names_service_and_traceback(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    pid = svc.pid()
    with pytest.raises(iso.ServiceError) as info:
        svc.raise_value_error("bad question")
    err = info.value
    assert err.cause == "exception" and err.service == name
    assert err.remote_type == "ValueError"
    assert isinstance(err.__cause__, ValueError) and str(err.__cause__) == "bad question"
    assert err.remote_traceback is not None and "raise_value_error" in err.remote_traceback
    assert name in str(err) and "bad question" in str(err)
    assert svc.pid() == pid  # an exception does not cost the worker


def test_unknown_and_private_methods_are_refused(configure: Configure) -> None:
    svc = iso.service(configure())
    with pytest.raises(AttributeError, match="no public method 'nope'"):
        svc.nope()
    with pytest.raises(AttributeError):
        svc._private
    from lazymed.isolate._service import runtimes

    rt = next(iter(runtimes()))
    for forbidden in ("__class__", "__reduce__", "_Service__x", "__init__"):
        with pytest.raises(AttributeError):
            rt.call(0, None, forbidden, (), {})


def test_unpicklable_result_stays_in_the_worker_behind_a_handle(configure: Configure) -> None:
    svc = iso.service(configure())
    lock = svc.make_lock()
    assert isinstance(lock, iso.RemoteObject)
    assert {"acquire", "release", "locked"} <= set(dir(lock))
    assert lock.acquire() is True
    assert lock.locked() is True
    lock.release()
    assert lock.locked() is False
    counter = svc.make_counter()
    assert counter.bump() == 1 and counter.bump(by=5) == 6
    with pytest.raises(AttributeError):
        counter.unpicklable  # an attribute, not a method: not reachable
    name = next(s.name for s in iso.status())
    iso.stop(name)
    with pytest.raises(iso.ServiceError) as info:
        counter.bump()
    assert info.value.cause == "stopped"
    assert status_of(name).state == "stopped"  # no worker started just to say so


def test_unpicklable_argument_fails_before_reaching_the_worker(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    pid = svc.pid()
    with pytest.raises(iso.ServiceError) as info:
        svc.echo(threading.Lock())
    assert info.value.cause == "pickle"
    assert svc.pid() == pid


@pytest.mark.parametrize(
    ("method", "code"), [("segfault", -signal.SIGSEGV), ("sigkill", -signal.SIGKILL)]
)
def test_worker_death_in_a_call_then_a_fresh_worker(
    configure: Configure, method: str, code: int
) -> None:
    name = configure(restart_backoff_s=0.01)
    svc = iso.service(name)
    modules_before = set(sys.modules)
    first = svc.pid()
    with pytest.raises(iso.ServiceError) as info:
        getattr(svc, method)()
    err = info.value
    assert err.cause == "exit" and err.exitcode == code
    assert signal.Signals(-code).name in str(err) and str(first) in str(err)
    assert svc.echo("alive") == "alive"
    assert svc.pid() != first
    st = status_of(name)
    assert st.restarts == 1 and st.last_error is not None
    assert set(sys.modules) - modules_before <= {m for m in sys.modules if "lazymed" in m}


def test_sigkill_while_idle_is_replaced_on_the_next_call(configure: Configure) -> None:
    name = configure(restart_backoff_s=0.01)
    svc = iso.service(name)
    first = svc.pid()
    os.kill(first, signal.SIGKILL)  # as the OOM killer would
    # Wait until it can be reaped: /proc shows a multi-threaded worker's leader as a zombie
    # while its other threads (and its socket) are still going away, and a call sent then is
    # delivered to a dying worker (an "exit" failure, not an idle death).
    from lazymed.isolate._service import runtimes

    rt = next(r for r in runtimes() if r.name == name)
    wait_for(lambda: rt.worker is not None and rt.worker.exitcode() is not None)
    assert svc.echo(5) == 5
    assert svc.pid() != first
    assert "SIGKILL" in (status_of(name).last_error or "")


def test_exception_in_factory(configure: Configure) -> None:
    name = configure(factory="build_fails", restart_backoff_s=0.01, max_restarts=10)
    svc = iso.service(name)
    with pytest.raises(iso.ServiceError) as info:
        svc.echo(1)
    err = info.value
    assert err.cause == "factory"
    assert "RuntimeError" in str(err) and "factory cannot reach its index" in str(err)
    assert err.remote_traceback is not None and "build_fails" in err.remote_traceback
    assert status_of(name).state == "failed"


def test_factory_that_exits_reports_the_exit_code(configure: Configure) -> None:
    name = configure(factory="build_exits", restart_backoff_s=0.01)
    with pytest.raises(iso.ServiceError) as info:
        iso.service(name).echo(1)
    assert info.value.cause == "exit" and "exited with code 7" in str(info.value)


def test_restart_limit_stops_a_worker_that_dies_at_start(configure: Configure) -> None:
    name = configure(
        factory="build_fails", max_restarts=2, restart_window_s=600, restart_backoff_s=0.01
    )
    svc = iso.service(name)
    causes = []
    for _ in range(5):
        with pytest.raises(iso.ServiceError) as info:
            svc.echo(1)
        causes.append(info.value.cause)
    assert causes == ["factory", "factory", "factory", "restart_limit", "restart_limit"]
    assert "max_restarts=2" in str(info.value) and "factory cannot reach" in str(info.value)
    iso.stop(name)  # resets the limit
    with pytest.raises(iso.ServiceError) as info:
        svc.echo(1)
    assert info.value.cause == "factory"


def test_call_timeout_kills_the_worker_and_the_next_call_starts_fresh(
    configure: Configure,
) -> None:
    name = configure(call_timeout_s=1, restart_backoff_s=0.01)
    svc = iso.service(name)
    first = svc.pid()
    with pytest.raises(iso.ServiceError) as info:
        svc.sleep(120)  # the hang; call_timeout_s ends it
    assert info.value.cause == "timeout"
    assert "call_timeout_s=1" in str(info.value)
    assert info.value.exitcode == -signal.SIGKILL
    assert svc.add(1, 1) == 2
    assert svc.pid() != first


def test_start_timeout(configure: Configure) -> None:
    name = configure(factory="build_hangs", start_timeout_s=1)
    with pytest.raises(iso.ServiceError) as info:
        iso.service(name).echo(1)
    assert info.value.cause == "timeout" and "start_timeout_s=1" in str(info.value)


def test_stop_waits_for_the_call_in_flight(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    first = svc.pid()
    results: list[object] = []
    caller = threading.Thread(target=lambda: results.append(svc.sleep(1.0)))
    caller.start()
    wait_for(lambda: status_of(name).in_flight == 1)
    report = iso.stop(name)
    caller.join(60)
    assert results == [1.0]  # the call finished before the worker stopped
    assert report.stopped and report.pid == first and report.exitcode == 0
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == "zombie"
    assert status_of(name).state == "stopped"
    assert svc.pid() != first  # the next call starts a fresh worker


def test_stop_with_timeout_ends_a_hung_call(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    svc.pid()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            svc.sleep(120)
        except iso.ServiceError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(lambda: status_of(name).in_flight == 1)
    report = iso.stop(name, timeout=0.5)
    caller.join(60)
    assert report.stopped
    assert len(errors) == 1 and isinstance(errors[0], iso.ServiceError)
    assert errors[0].cause == "stopped"


def test_stop_returns_the_workers_memory_measured_from_outside(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    svc.allocate_mb(80)
    pid = svc.pid()
    outside_rss = psutil.Process(pid).memory_info().rss
    report = iso.stop(name)
    assert report.stopped and report.pid == pid
    assert report.worker_rss_bytes is not None and report.worker_uss_bytes is not None
    assert abs(report.worker_rss_bytes - outside_rss) < 4 * 2**20
    assert report.worker_uss_bytes > 80 * 2**20
    assert report.tree_rss_before_bytes is not None and report.tree_rss_after_bytes is not None
    assert report.returned_bytes == report.tree_rss_before_bytes - report.tree_rss_after_bytes
    # What the tree gave back is the worker's RSS (other processes in the tree move a little).
    assert report.returned_bytes > 0.9 * report.worker_rss_bytes
    assert iso.stop(name).stopped is False  # nothing left to stop


def test_idle_timeout_stops_the_worker(configure: Configure) -> None:
    name = configure(idle_timeout_s=0.5)
    svc = iso.service(name)
    pid = svc.pid()
    wait_for(lambda: status_of(name).state == "stopped")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    assert svc.pid() != pid
    assert status_of(name).restarts == 1


def test_worker_over_max_rss_is_recycled_between_calls(configure: Configure) -> None:
    name = configure(max_rss_mb=60, rss_check_interval_s=0)
    svc = iso.service(name)
    pid = svc.pid()
    assert svc.allocate_mb(80) == 1  # the call itself completes
    wait_for(lambda: status_of(name).state == "stopped")
    assert svc.pid() != pid
    assert svc.allocate_mb(1) == 1  # fresh worker: the old allocation is gone


def test_32_threads_call_at_once(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    results: dict[int, list[object]] = {}
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            results[i] = [svc.concurrent(i, 0.05) for _ in range(5)] + [svc.echo(i)]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert results == {i: [i] * 6 for i in range(32)}
    st = status_of(name)
    assert st.restarts == 0 and st.calls == 32 * 6
    # The worker runs each caller's connection on its own thread: calls overlap.
    assert svc.peak_concurrency() > 1


def test_32_threads_racing_the_first_call_start_one_worker(configure: Configure) -> None:
    name = configure()
    svc = iso.service(name)
    pids: list[int] = []
    threads = [threading.Thread(target=lambda: pids.append(svc.pid())) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(pids) == 32 and len(set(pids)) == 1
    assert status_of(name).restarts == 0


def test_unknown_service_names_the_config_file(configure: Configure) -> None:
    configure()
    with pytest.raises(ConfigError, match=r"no isolated service 'other'.*pyproject.toml"):
        iso.service("other")


def test_forkserver_start_method(configure: Configure) -> None:
    name = configure(start_method="forkserver")
    svc = iso.service(name)
    assert svc.echo("fs") == "fs"
    pid = svc.pid()
    assert pid != os.getpid()
    report = iso.stop(name)
    assert report.stopped and report.exitcode == 0
