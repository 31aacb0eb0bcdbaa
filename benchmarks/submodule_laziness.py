"""Does ``import pkg.sub`` leave a lazy ``pkg`` unrun? Every installed distribution, checked.

For each top-level regular package of every distribution installed in this interpreter's
``site-packages`` (for namespace packages such as ``google.cloud``, the first regular package
down each path), the pairs ``(pkg, sub)`` are its public direct submodules and subpackages, read
from the directory (nothing imported). Each pair runs in two fresh interpreters:

* ``lazy``: ``lazymed.install(lazy=[pkg])``, ``import pkg.sub``; reports whether ``pkg`` is still
  pending (its ``status()`` state is ``"lazy"``) and lazymed's ``early_reason`` if not; then the
  first use (``sys.modules["pkg.sub"].__doc__``) and the final state;
* ``eager``: ``import pkg.sub`` and the same final state.

Final state: what ``pkg.sub`` is bound to (type, whether it is ``sys.modules["pkg.sub"]``) and
the set of ``pkg.*`` names in ``sys.modules``. Pairs whose eager import fails are reported apart
(not counted); a C-extension submodule is reported as such (lazymed imports those eagerly, so
its parent must run). ``python benchmarks/submodule_laziness.py [--quick]`` prints the JSON.

Bounded: at most :data:`PER_PACKAGE` pairs per package in full mode (seeded sample, stated in the
result), :data:`QUICK_PAIRS` in quick mode; two pairs run at a time; each child at most 120 s.
"""

from __future__ import annotations

import json
import os
import random
import site
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PER_PACKAGE = 1
QUICK_PAIRS = 8
SEED = 11
EXTENSION_SUFFIXES = (".so", ".pyd")

CHILD = r"""
import json, sys, warnings
mode, top, child = sys.argv[1:4]
out = {"preloaded": top in sys.modules}
if mode == "lazy":
    import lazymed
    lazymed.install(lazy=[top])
try:
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        __import__(child)
except BaseException as exc:
    out["import_error"] = type(exc).__name__
    print(json.dumps(out)); raise SystemExit(0)
if mode == "lazy":
    record = lazymed.status().module(top)
    out["lazy"] = record.state == "lazy"
    out["reason"] = record.early_reason
try:
    getattr(sys.modules[child], "__doc__")
    parent = sys.modules[top] if "." not in child[len(top) + 1:] else None
    bound = getattr(sys.modules[child.rpartition(".")[0]], child.rpartition(".")[2], None)
    out["state"] = [
        type(bound).__name__,
        bound is sys.modules.get(child),
        sorted(k for k in sys.modules if k == top or k.startswith(top + ".")),
    ]
except BaseException as exc:
    out["use_error"] = type(exc).__name__
print(json.dumps(out))
"""


def _site_dirs() -> list[Path]:
    dirs = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    purelib = Path(sysconfig.get_paths()["purelib"])
    return dirs if purelib in dirs else [*dirs, purelib]


def packages() -> list[tuple[str, Path]]:
    """(dotted name, directory) of the first regular package down each installed path."""
    found: dict[str, Path] = {}
    for dist in metadata.distributions():
        base = Path(str(dist.locate_file("")))
        for file in dist.files or ():
            parts = file.parts
            if len(parts) < 2 or parts[-1] != "__init__.py" or parts[0].startswith(".."):
                continue
            if parts[0].endswith((".dist-info", ".data", ".egg-info")):
                continue
            directory = base
            for i, part in enumerate(parts[:-1]):
                directory = directory / part
                if (directory / "__init__.py").is_file():
                    if part.isidentifier() and all(p.isidentifier() for p in parts[: i + 1]):
                        found.setdefault(".".join(parts[: i + 1]), directory)
                    break
    return sorted(found.items())


def pairs_of(name: str, directory: Path) -> list[tuple[str, str, str]]:
    """(package, submodule, kind) for the public direct children of ``directory``."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    if any(
        e.startswith("__init__.") and e.endswith(EXTENSION_SUFFIXES) for e in os.listdir(directory)
    ):
        return out  # the package itself is a C extension: imported eagerly, nothing to defer
    for entry in sorted(os.listdir(directory)):
        stem, _, suffix = entry.partition(".")
        if entry.startswith(("_", ".")) or not stem.isidentifier() or stem in seen:
            continue
        path = directory / entry
        if entry.endswith(".py") and suffix == "py":
            kind = "module"
        elif path.is_dir() and (path / "__init__.py").is_file():
            compiled = any(
                e.startswith("__init__.") and e.endswith(EXTENSION_SUFFIXES)
                for e in os.listdir(path)
            )
            kind = "c-extension" if compiled else "package"
        elif entry.endswith(EXTENSION_SUFFIXES):
            kind = "c-extension"
        else:
            continue
        seen.add(stem)
        out.append((name, f"{name}.{stem}", kind))
    return out


def select(quick: bool) -> tuple[list[tuple[str, str, str]], int, str]:
    everything = [p for name, d in packages() for p in pairs_of(name, d)]
    rng = random.Random(SEED)
    if quick:
        chosen = rng.sample(everything, min(QUICK_PAIRS, len(everything)))
        how = f"quick: {len(chosen)} pairs sampled (seed {SEED}) of {len(everything)}"
    else:
        by_package: dict[str, list[tuple[str, str, str]]] = {}
        for pair in everything:
            by_package.setdefault(pair[0], []).append(pair)
        chosen = []
        for group in by_package.values():
            chosen.extend(group if len(group) <= PER_PACKAGE else rng.sample(group, PER_PACKAGE))
        how = (
            f"full: up to {PER_PACKAGE} pairs per package (seeded sample, seed {SEED}): "
            f"{len(chosen)} of {len(everything)} pairs in {len(by_package)} packages"
        )
    return sorted(chosen), len(everything), how


def _run(mode: str, top: str, child: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAZYMED_", "PYTHONWARN"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, mode, top, child],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=str(ROOT),
        )
    except subprocess.TimeoutExpired:
        return {"crash": "timeout"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"crash": (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def check(pair: tuple[str, str, str]) -> dict[str, Any]:
    top, child, kind = pair
    eager = _run("eager", top, child)
    row: dict[str, Any] = {"package": top, "submodule": child, "kind": kind}
    if "state" not in eager:
        row["outcome"] = "eager import fails"
        row["detail"] = eager.get("import_error") or eager.get("use_error") or eager.get("crash")
        return row
    lazy = _run("lazy", top, child)
    row["lazy"] = bool(lazy.get("lazy"))
    row["reason"] = lazy.get("reason")
    row["equal_to_eager"] = lazy.get("state") == eager.get("state")
    if not row["equal_to_eager"]:
        row["eager_state"] = eager.get("state")
        row["lazy_state"] = lazy.get("state") or lazy
    if row["lazy"]:
        row["outcome"] = "lazy"
    elif lazy.get("preloaded"):
        row["outcome"] = "imported at start-up (a .pth file): never lazy"
    elif kind == "c-extension":
        row["outcome"] = "runs early: C-extension submodule"
    else:
        row["outcome"] = "runs early"
    return row


def static_reading(only: list[tuple[str, str, str]] | None = None) -> dict[str, Any]:
    """lazymed's static reading (no interpreter started, nothing imported) over every pure-Python
    pair (``only`` those, in quick mode): how many it lets stay lazy, and why the others run
    early (lazymed._bindings)."""
    sys.path.insert(0, str(ROOT))
    from lazymed._bindings import import_change

    reasons: dict[str, int] = {}
    python_pairs = 0
    for name, directory in packages():
        for top, child, kind in pairs_of(name, directory):
            if kind == "c-extension" or (only is not None and (top, child, kind) not in only):
                continue
            python_pairs += 1
            init = str(directory / "__init__.py")
            reason = import_change(top, init, child, found=True)
            if reason is not None:
                where = reason.split(": ", 1)
                short = where[0].rpartition("site-packages/")[2] + ": " + where[-1]
                reasons[short] = reasons.get(short, 0) + 1
    run_early = sum(reasons.values())
    return {
        "python_pairs": python_pairs,
        "predicted_lazy": python_pairs - run_early,
        "predicted_lazy_share": round(1 - run_early / python_pairs, 4) if python_pairs else None,
        "run_early_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
    }


def campaign(quick: bool) -> dict[str, Any]:
    chosen, total, how = select(quick)
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(check, chosen))
    counted = [r for r in rows if r["outcome"] != "eager import fails"]
    python_pairs = [
        r for r in counted if r["kind"] != "c-extension" and not r["outcome"].startswith("imp")
    ]
    lazy = [r for r in python_pairs if r["lazy"]]
    return {
        "static_reading_all_pairs": static_reading(chosen if quick else None),
        "sample": how,
        "pairs_total": total,
        "pairs_run": len(rows),
        "pairs_counted": len(counted),
        "eager_import_fails": len(rows) - len(counted),
        "c_extension_pairs": sum(r["kind"] == "c-extension" for r in counted),
        "imported_at_startup": sum(r["outcome"].startswith("imp") for r in counted),
        "python_pairs": len(python_pairs),
        "stay_lazy": len(lazy),
        "stay_lazy_share": round(len(lazy) / len(python_pairs), 4) if python_pairs else None,
        "state_mismatches": [r for r in counted if not r["equal_to_eager"]],
        "not_lazy": [r for r in counted if not r["lazy"]],
        "rows": rows,
    }


if __name__ == "__main__":
    print(json.dumps(campaign("--quick" in sys.argv), indent=1))
