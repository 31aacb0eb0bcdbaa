"""The ``lazymed`` command line as a whole: ``--version`` and a reader that goes away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lazymed

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYMED_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lazymed", "--version"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"lazymed {lazymed.__version__}\n"


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--json"),
        ("check",),
        ("scan", "--json", "app.py"),
        ("profile", "--json", "--no-alloc", "--no-baseline", "-c", "import json"),
    ],
    ids=lambda a: " ".join(a),
)
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, args: tuple[str, ...]) -> None:
    """``lazymed check --json | head``: the reader closes the pipe before the command writes."""
    (tmp_path / "pyproject.toml").write_text('[tool.lazymed]\nlazy = ["json", "email"]\n')
    (tmp_path / "app.py").write_text("import json\nX = json.dumps\n" * 200)
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: every write raises EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "lazymed", *args],
            cwd=tmp_path,
            env=_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert "Exception ignored" not in proc.stderr
    assert proc.returncode == 1
