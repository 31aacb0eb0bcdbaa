"""tox inline plugin: a closing line saying which interpreters the tests really ran on.

With ``skip_missing_interpreters`` tox reports a missing interpreter as ``SKIP`` among the other
results and still ends with "congratulations". After tox's own summary (at interpreter exit) this
prints one line per Python test environment (``py3``, ``py311`` ...) that was selected::

    tests ran on: py3 = CPython 3.11.7 (/usr/bin/python3.11): 612 passed, 3 skipped in 301.2s
    tests NOT run: py312 (no interpreter found, skipped)

and, when the environment variable ``TOX_INTERPRETERS_REPORT`` names a file, appends the same lines
to it (``.ci/run`` collects the lines of its several tox runs that way). pytest's exit code 5 (no
tests collected) is named as such: a run that tested nothing is a failure, never a pass.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
from typing import Any

from tox.plugin import impl

_TEST_ENV = re.compile(r"^py3(\d+)?$")
_PYTEST_SUMMARY = re.compile(r"^=+ (.*\b(?:passed|failed|skipped|error|errors|deselected)\b.*) =+$")
_PYTEST_EXIT = {
    1: "tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected (pytest exit 5)",
}

_state: Any = None
_ran: dict[str, tuple[bool, str]] = {}  # env name -> (ran pytest, what to say)


@impl
def tox_add_core_config(core_conf: Any, state: Any) -> None:
    global _state
    if _state is None:
        _state = state
        atexit.register(_closing_line)


@impl
def tox_after_run_commands(tox_env: Any, exit_code: int, outcomes: list[Any]) -> None:
    name = tox_env.name
    if not _TEST_ENV.match(name):
        return
    try:
        info = tox_env.base_python
        version = ".".join(str(part) for part in info.version_info[:3])
        where = (info.extra or {}).get("executable") or tox_env.env_python()
        interpreter = f"{info.implementation} {version} ({where})"
    except Exception as exc:  # never break tox over a report line
        interpreter = f"an interpreter tox could not describe ({exc})"
    pytest = any("pytest" in " ".join(map(str, outcome.cmd)) for outcome in outcomes)
    summary = ""
    for outcome in outcomes:
        for line in (outcome.out or "").splitlines():
            match = _PYTEST_SUMMARY.match(line.strip())
            if match:
                summary = match.group(1)
    last = outcomes[-1].exit_code if outcomes else exit_code
    if exit_code == 0:
        result = summary or "ok"
    else:
        result = f"exit {exit_code}"
        if pytest:
            result = _PYTEST_EXIT.get(last or exit_code, result)
        if summary:
            result = f"{result}: {summary}"
    if not pytest:
        result = f"`{' '.join(map(str, outcomes[-1].cmd)) if outcomes else ''}` {result}"
    _ran[name] = (pytest, f"{name} = {interpreter}: {result}")


def _closing_line() -> None:
    try:
        command = getattr(_state.conf.options, "command", "")
        if command not in ("legacy", "le", "run", "r", "run-parallel", "p"):
            return
        selected = [name for name in _state.envs.iter() if _TEST_ENV.match(name)]
    except Exception:  # a run that failed before selecting environments: nothing to say
        return
    if not selected:
        return
    lines = []
    tests = [_ran[name][1] for name in selected if name in _ran and _ran[name][0]]
    other = [_ran[name][1] for name in selected if name in _ran and not _ran[name][0]]
    missing = [name for name in selected if name not in _ran]
    if tests:
        lines.append("tests ran on: " + "; ".join(tests))
    if other:
        lines.append("commands ran on: " + "; ".join(other))
    if missing:
        lines.append(
            "tests NOT run: "
            + ", ".join(missing)
            + " (no interpreter found, or setup failed: see above)"
        )
    text = "\n".join(lines)
    sys.stdout.flush()
    print(text, flush=True)
    report = os.environ.get("TOX_INTERPRETERS_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as file:
            file.write(text + "\n")
