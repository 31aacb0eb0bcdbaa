"""First use of several real lazy packages from many threads at once.

google.cloud.storage and firebase_admin share google.auth and google.api_core, so their loads
race on the same dependencies; supabase loads alongside. Every thread must get the real object,
nothing may hang (a join timeout fails the snippet), and afterwards the modules are ordinary.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import lazy_install, run_snippet

NAMES = ["google.cloud.storage", "firebase_admin", "supabase"]

CODE = """
import threading
import types

import firebase_admin.credentials
import google.cloud.storage
import supabase

TARGETS = [
    (lambda: google.cloud.storage.Client, "Client"),
    (lambda: firebase_admin.credentials.Certificate, "Certificate"),
    (lambda: supabase.create_client, "create_client"),
]
barrier = threading.Barrier(9)
got, errors = [], []


def worker(i):
    barrier.wait()
    read, expected = TARGETS[i % 3]
    try:
        got.append([read().__name__, expected])
    except BaseException as exc:
        errors.append(f"thread {i}: {type(exc).__name__}: {exc}")


threads = [threading.Thread(target=worker, args=(i,)) for i in range(9)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
report("hung", sum(t.is_alive() for t in threads))
report("errors", errors)
report("got", sorted(got))
import lazymed
report("states", {m.name: m.state for m in lazymed.status().modules})
report("plain", [type(m) is types.ModuleType for m in (
    google.cloud.storage, firebase_admin, firebase_admin.credentials, supabase)])
"""


def test_first_use_from_many_threads(tmp_path: Path) -> None:
    run = run_snippet(CODE, workdir=tmp_path, install=lazy_install(NAMES))
    assert run["hung"] == 0
    assert run["errors"] == []
    assert run["got"] == sorted(
        [["Client", "Client"], ["Certificate", "Certificate"], ["create_client", "create_client"]]
        * 3
    )
    assert {n: run["states"][n] for n in NAMES} == dict.fromkeys(NAMES, "loaded")
    assert run["plain"] == [True] * 4
