"""Fixtures for the governor: a scripted sampler and a monitor stopped after every test."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lazymed.memory import Sample, Sampler

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def stopped_monitor() -> Iterator[None]:
    """Every test leaves no monitor thread behind (and no user actions or providers)."""
    yield
    memory = sys.modules.get("lazymed.memory")
    if memory is not None:
        memory.stop()


def write_pyproject(directory: Path, body: str) -> Path:
    """Write ``directory/pyproject.toml`` with ``body`` (dedented); return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pyproject.toml"
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def make_sample(
    t: float, rss_mb: float, vms_mb: float = 50.0, uss_mb: float | None = None
) -> Sample:
    """A reading at time ``t`` (seconds) with the given sizes in MiB."""
    return Sample(
        time=t,
        wall=1_800_000_000.0 + t,
        pid=12345,
        rss_bytes=int(rss_mb * MB),
        vms_bytes=int(vms_mb * MB),
        uss_bytes=None if uss_mb is None else int(uss_mb * MB),
        pss_bytes=None,
        swap_bytes=None,
        threads=1,
        gc_objects=1000,
        open_files=3,
        cgroup=None,
        pressure=None,
    )


class ScriptedSampler(Sampler):
    """Returns readings from a script: (seconds, RSS MiB[, VMS MiB]) tuples, then the last one
    forever. ``memory()`` reports the current scripted RSS (USS = RSS)."""

    def __init__(self, script: list[tuple[float, ...]]) -> None:  # no psutil process
        self.pid = 12345
        self.script = list(script)
        self.index = 0
        self._cgroup_dir = None

    def _current(self) -> tuple[float, ...]:
        return self.script[min(self.index, len(self.script) - 1)]

    def sample(self, *, full: bool = False) -> Sample:
        row = self._current()
        self.index += 1
        return make_sample(row[0], row[1], row[2] if len(row) > 2 else 50.0)

    def memory(self) -> tuple[int, int | None]:
        rss = int(self._current()[1] * MB)
        return rss, rss

    def cgroup(self) -> None:
        return None

    def pressure(self) -> None:
        return None

    def reset_after_fork(self) -> None:
        pass
