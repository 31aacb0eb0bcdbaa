"""Scan results as ruff-style text and as the ``lazymed.scan/1`` JSON document."""

from __future__ import annotations

from lazymed._config import Config
from lazymed.scan._model import KINDS, ScanResult

SCHEMA = "lazymed.scan/1"


def render_text(result: ScanResult, cfg: Config) -> str:
    """ruff-style lines: ``path:line:col: kind: message`` then the fix."""
    out: list[str] = []
    for f in result.findings:
        out.append(f"{f.path}:{f.line}:{f.col}: {f.kind}: {f.message}")
        out.append(f"    fix: {f.fix}")
    for e in result.errors:
        where = f"{e.path}:{e.line}" if e.line is not None else e.path
        out.append(f"{where}: error: {e.message}")
    files = len({f.path for f in result.findings})
    lazy = ", ".join(cfg.lazy)
    summary = (
        f"{len(result.findings)} finding(s) in {files} file(s)"
        if result.findings
        else "no findings"
    )
    if result.errors:
        summary += f", {len(result.errors)} file(s) could not be parsed"
    out.append(
        f"{summary}; {len(result.files)} file(s) scanned for lazy: {lazy} "
        f'(from_import = "{cfg.from_import}"; config: {cfg.path or "environment"})'
    )
    return "\n".join(out) + "\n"


def report_json(result: ScanResult, cfg: Config) -> dict[str, object]:
    """The ``lazymed.scan/1`` document (see docs/check-and-scan.md)."""
    return {
        "schema": SCHEMA,
        "config": {
            "path": cfg.path,
            "profile": cfg.profile,
            "lazy": list(cfg.lazy),
            "from_import": cfg.from_import,
        },
        "files_scanned": len(result.files),
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "col": f.col,
                "kind": f.kind,
                "module": f.module,
                "code": f.code,
                "message": f.message,
                "fix": f.fix,
            }
            for f in result.findings
        ],
        "errors": [{"path": e.path, "line": e.line, "message": e.message} for e in result.errors],
        "summary": {
            "findings": len(result.findings),
            "files_with_findings": len({f.path for f in result.findings}),
            "errors": len(result.errors),
            "by_kind": {k: n for k in KINDS if (n := sum(f.kind == k for f in result.findings))},
            "exit_status": result.exit_status,
        },
    }
