"""Start the reference medical app under real servers on 127.0.0.1 (gunicorn with 2 workers,
uvicorn for the ASGI variant), wait until it answers, stop it afterwards."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "examples" / "medical_app"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(token: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAZYMED_", "MEDICAL_APP_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), str(APP_DIR)]),
        LAZYMED_WEB_TOKEN=token,
        LAZYMED_CACHE_DIR="",
        MEDICAL_APP_LAZY="1",
        # planted: no response may ever contain these
        DATABASE_PASSWORD="hunter2-db-password",
        **extra,
    )
    return env


def _healthy(url: str) -> bool:
    # http.client, not httpx: the suite's import-state fixture may leave httpx and a re-imported
    # httpcore whose exception classes httpx no longer maps
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def running(
    argv: list[str], env: dict[str, str], url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` in the app's directory; yield once GET ``url``/healthz answers 200
    (at most 120 s); SIGTERM (then SIGKILL) the process group at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=APP_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
            if _healthy(url):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after 120 s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def gunicorn(port: int, env: dict[str, str], log: Path, *, workers: int = 2):  # type: ignore[no-untyped-def]
    env = {**env, "MEDAPP_BIND": f"127.0.0.1:{port}", "MEDAPP_WORKERS": str(workers)}
    argv = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "medapp.wsgi:app"]
    return running(argv, env, f"http://127.0.0.1:{port}", log)


def uvicorn(port: int, env: dict[str, str], log: Path):  # type: ignore[no-untyped-def]
    argv = [str(BIN / "uvicorn"), "medapp.asgi:app", "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log"]  # fmt: skip
    return running(argv, env, f"http://127.0.0.1:{port}", log)
