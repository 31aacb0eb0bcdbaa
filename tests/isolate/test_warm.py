"""``warm = true``: install() starts the worker in the background; the core stays cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys, time
import lazymed
lazymed.install(config=sys.argv[1])
after_install = {
    "isolate": "lazymed.isolate" in sys.modules and sys.argv[2] == "cold",
    "multiprocessing": "multiprocessing" in sys.modules and sys.argv[2] == "cold",
    "psutil": "psutil" in sys.modules,
}
out = {"after_install": after_install}
if sys.argv[2] == "warm":
    deadline = time.monotonic() + 120  # hang guard
    import lazymed.isolate as iso  # waits for the warm thread's import of the layer
    while True:
        states = [s.state for s in iso.status()]
        if states == ["running"]:
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.05)
    warm_pid = iso.status()[0].pid
    svc = iso.service("svc")
    out.update(warm_pid=warm_pid, call_pid=svc.pid(), restarts=iso.status()[0].restarts)
print(json.dumps(out))
"""


def run(tmp_path: Path, warm: bool) -> dict[str, object]:
    svc = tmp_path / "warm_svc.py"
    svc.write_text("import os\nclass S:\n    def pid(self):\n        return os.getpid()\n")
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            [tool.lazymed]
            lazy = ["xml.dom"]
            [tool.lazymed.isolate.svc]
            factory = "warm_svc:S"
            warm = {"true" if warm else "false"}
            """
        )
    )
    script = tmp_path / "main.py"
    script.write_text(SCRIPT)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "LAZYMED_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, str(script), str(cfg), "warm" if warm else "cold"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_without_warm_install_imports_no_isolation_layer(tmp_path: Path) -> None:
    result = run(tmp_path, warm=False)
    assert result["after_install"] == {"isolate": False, "multiprocessing": False, "psutil": False}


def test_warm_service_runs_before_the_first_call_which_uses_it(tmp_path: Path) -> None:
    result = run(tmp_path, warm=True)
    assert result["after_install"] == {"isolate": False, "multiprocessing": False, "psutil": False}
    assert result["warm_pid"] == result["call_pid"]
    assert result["restarts"] == 0
