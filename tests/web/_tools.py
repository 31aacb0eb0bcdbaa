"""Debian tools the web tests need (promtool, chromium): found on PATH, else installed with
apt-get when the tests run as root with apt available, else the test is skipped with the
exact reason."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

_TRIED: dict[str, str | None] = {}


def debian_tool(command: str, package: str) -> str:
    """Path of ``command``; installs Debian's ``package`` once if needed and possible."""
    found = shutil.which(command)
    if found:
        return found
    if package not in _TRIED:
        _TRIED[package] = None
        apt = shutil.which("apt-get")
        if apt is None:
            _TRIED[package] = f"{command} not on PATH and apt-get unavailable (install {package})"
        elif os.geteuid() != 0:
            _TRIED[package] = f"{command} not on PATH; apt-get install -y {package} needs root"
        else:
            done = subprocess.run(
                [apt, "install", "-y", "--no-install-recommends", package],
                capture_output=True,
                text=True,
                timeout=1800,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            if done.returncode != 0:
                _TRIED[package] = (
                    f"apt-get install -y {package} failed ({done.returncode}): "
                    f"{done.stderr.strip()[-300:]}"
                )
    found = shutil.which(command)
    if found:
        return found
    pytest.skip(_TRIED[package] or f"{command} not found after installing {package}")
