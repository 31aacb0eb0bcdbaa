"""cgroup v2 and PSI readings: parsing on a synthetic tree, and a real limit where the machine
allows one (a child cgroup this test creates; skipped with the exact reason otherwise)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lazymed.memory._sample import CGROUP_MOUNTS, cgroup_dir, read_cgroup, read_pressure

from .test_process import child_env

MB = 1024 * 1024


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_limits_are_the_smallest_of_the_cgroup_and_its_ancestors(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    write(root / "cgroup.controllers", "memory pids\n")
    write(root / "app" / "memory.max", f"{400 * MB}\n")
    write(root / "app" / "memory.high", "max\n")
    leaf = root / "app" / "worker"
    write(leaf / "memory.max", "max\n")
    write(leaf / "memory.high", f"{300 * MB}\n")
    write(leaf / "memory.current", f"{123 * MB}\n")
    write(leaf / "memory.events", "low 0\nhigh 7\nmax 2\noom 1\noom_kill 1\n")
    cg = read_cgroup(str(leaf), root=str(root))
    assert cg.current_bytes == 123 * MB
    assert cg.max_bytes == 400 * MB and cg.high_bytes == 300 * MB
    assert cg.limit_bytes == 400 * MB  # memory.max first, memory.high otherwise
    assert cg.events == {"low": 0, "high": 7, "max": 2, "oom": 1, "oom_kill": 1}
    unlimited = read_cgroup(str(root / "app" / "other"), root=str(root))
    assert unlimited.max_bytes == 400 * MB  # inherited from app


def test_pressure_parsing(tmp_path: Path) -> None:
    path = tmp_path / "memory.pressure"
    path.write_text(
        "some avg10=1.25 avg60=0.50 avg300=0.10 total=1234\n"
        "full avg10=0.75 avg60=0.20 avg300=0.05 total=999\n"
    )
    psi = read_pressure(str(path))
    assert psi is not None and (psi.some_avg10, psi.full_avg10) == (1.25, 0.75)
    assert read_pressure(str(tmp_path / "missing")) is None


def test_this_machine_readings_match_the_kernel_files() -> None:
    from lazymed.memory import Sampler

    sample = Sampler().sample()
    if os.path.exists("/proc/pressure/memory") and sample.cgroup is None:
        assert sample.pressure is not None
        assert sample.pressure.source == "/proc/pressure/memory"
    found = cgroup_dir()
    assert (sample.cgroup is None) == (found is None)
    if found is not None:
        assert sample.cgroup is not None and sample.cgroup.path == found


def _v2_memory_mount() -> tuple[str | None, str]:
    """The cgroup v2 mount with the memory controller, or None and why not."""
    reasons = []
    for mount in CGROUP_MOUNTS:
        controllers = Path(mount, "cgroup.controllers")
        if not controllers.exists():
            reasons.append(f"{controllers} does not exist")
            continue
        names = controllers.read_text().split()
        if "memory" in names:
            return mount, ""
        reasons.append(
            f"cgroup v2 at {mount} has controllers {names or 'none'}: the memory controller is "
            "bound to cgroup v1 on this machine"
        )
    return None, "; ".join(reasons)


def test_real_cgroup_v2_limit_resolves_percentages(tmp_path: Path) -> None:
    mount, why = _v2_memory_mount()
    if mount is None:
        try:
            init = Path("/proc/1/comm").read_text().strip()
        except OSError:
            init = "unknown"
        systemd = (
            "" if init == "systemd" else f"; systemd-run needs systemd as PID 1 (here {init!r})"
        )
        pytest.skip(f"no cgroup v2 memory controller: {why}{systemd}")
    if os.geteuid() != 0 and not os.access(mount, os.W_OK):
        pytest.skip(f"cannot create a child cgroup: {mount} is not writable by uid {os.geteuid()}")
    subtree = Path(mount, "cgroup.subtree_control")
    if "memory" not in subtree.read_text().split():
        try:
            subtree.write_text("+memory")
        except OSError as exc:
            pytest.skip(f"cannot enable the memory controller in {subtree}: {exc}")
    group = Path(mount, f"lazymed-test-{os.getpid()}")
    try:
        group.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot create child cgroup {group}: {exc}")
    try:
        (group / "memory.max").write_text(str(256 * MB))
        code = (
            "import json, lazymed.memory as m\n"
            "s = m.configure({'warning_mb': '50%', 'critical_mb': '70%', 'emergency_mb': '90%',"
            " 'budget_mb': '10%'})\n"
            "c = m.snapshot().cgroup\n"
            "print(json.dumps([s.thresholds.warning, s.limit_bytes, c.max_bytes, c.path]))\n"
        )
        launcher = f'echo $$ > {group}/cgroup.procs && exec {sys.executable} -c "$0"'
        result = subprocess.run(
            ["sh", "-c", launcher, code],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
            check=False,
        )
        assert result.returncode == 0, result.stderr
        warning, limit, max_bytes, path = json.loads(result.stdout)
        assert limit == max_bytes == 256 * MB and path == str(group)
        assert warning == int(0.5 * 256 * MB)
    finally:
        group.rmdir()
