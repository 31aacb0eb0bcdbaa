"""The check report as plain text and as the ``lazymed.check/1`` JSON document."""

from __future__ import annotations

import json
import os

from lazymed._config import ENV_PREFIX
from lazymed.check._problems import ModuleReport, Report, source_kind

SCHEMA = "lazymed.check/1"


def _value_text(value: object) -> str:
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    return json.dumps(value)


def _role_text(mod: ModuleReport) -> str:
    return ", ".join(r.role if r.in_effect else f"{r.role} ({r.profile})" for r in mod.roles)


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def render_text(report: Report, strict: bool) -> str:
    """The plain-text report."""
    cfg = report.config
    lines: list[str] = []
    lines.append(f"config:   {cfg.path or '(no pyproject.toml with [tool.lazymed] found)'}")
    defined = ", ".join(cfg.profiles) or "none defined"
    lines.append(f"profile:  {cfg.profile or '(none)'}   [profiles: {defined}]")
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    if env:
        lines.append("environment: " + ", ".join(f"{k}={v}" for k, v in sorted(env.items())))
    if report.search_path_extra:
        lines.append("also searched (not on sys.path): " + ", ".join(report.search_path_extra))
    lines.append("")
    lines.append("effective configuration:")
    width = max((len(k) for k, _, _ in report.settings), default=0)
    for key, value, source in report.settings:
        lines.append(f"  {key:<{width}} = {_value_text(value)}")
        lines.append(f"  {'':<{width}}   from {source}")
    lines.append("")
    if report.modules:
        header = ("NAME", "ROLE", "FOUND", "KIND", "C-EXT", "AT START-UP", "STDLIB", "WHERE")
        rows = [header]
        for mod in report.modules:
            res = mod.resolution
            where = res.origin or (", ".join(res.locations) if res.locations else "")
            if res.via_extra_path:
                where += " (config directory)"
            rows.append(
                (
                    mod.name,
                    _role_text(mod),
                    "yes" if res.found else "NO",
                    res.kind or "-",
                    str(len(res.extensions)) if res.found else "-",
                    _yes_no(mod.imported_at_startup),
                    _yes_no(mod.stdlib),
                    where or "-",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        lines.append("registered modules (resolved without importing):")
        for row in rows:
            cells = [f"{cell:<{w}}" for cell, w in zip(row[:-1], widths, strict=True)]
            lines.append("  " + "  ".join([*cells, row[-1]]).rstrip())
        if any(not r.in_effect for m in report.modules for r in m.roles):
            lines.append("  role (NAME): registered only in that profile, not the active one")
        lines.append(
            "  C-EXT: C extension files of the package itself; the packages it imports when it "
            "loads may have more (python -m lazymed profile shows them)"
        )
        lines.append("")
    if report.problems:
        lines.append("problems:")
        for p in report.problems:
            lines.append(f"  {p.severity}[{p.code}]: {p.message}")
            lines.append(f"    fix: {p.fix}")
        lines.append("")
    status = report.exit_status(strict)
    lines.append(
        f"{report.errors} error(s), {report.warnings} warning(s)"
        + (" (--strict: warnings fail)" if strict and report.warnings else "")
        + f"; exit status {status}"
    )
    return "\n".join(lines) + "\n"


def report_json(report: Report, strict: bool) -> dict[str, object]:
    """The ``lazymed.check/1`` document (see docs/check-and-scan.md)."""
    cfg = report.config
    return {
        "schema": SCHEMA,
        "config": {
            "path": cfg.path,
            "profile": cfg.profile,
            "profiles": list(cfg.profiles),
            "settings": [
                {
                    "key": key,
                    "value": list(value) if isinstance(value, tuple) else value,
                    "source": source,
                    "source_kind": source_kind(source),
                }
                for key, value, source in report.settings
            ],
            "search_path_extra": report.search_path_extra,
        },
        "modules": [
            {
                "name": m.name,
                "roles": [
                    {
                        "role": r.role,
                        "profile": r.profile,
                        "in_effect": r.in_effect,
                        "source": r.source,
                    }
                    for r in m.roles
                ],
                "found": m.resolution.found,
                "kind": m.resolution.kind,
                "namespace": m.resolution.kind == "namespace package",
                "package": m.resolution.kind in ("package", "namespace package", "frozen package"),
                "origin": m.resolution.origin,
                "locations": list(m.resolution.locations),
                "finder": m.resolution.finder,
                "missing": m.resolution.missing,
                "suggestion": m.resolution.suggestion,
                "distribution": (
                    None
                    if m.resolution.distribution is None
                    else {
                        "name": m.resolution.distribution,
                        "modules": list(m.resolution.provides),
                    }
                ),
                "c_extensions": list(m.resolution.extensions),
                "imported_at_startup": m.imported_at_startup,
                "stdlib": m.stdlib,
                "via_config_directory": m.resolution.via_extra_path,
            }
            for m in report.modules
        ],
        "problems": [
            {
                "severity": p.severity,
                "code": p.code,
                "name": p.name,
                "message": p.message,
                "fix": p.fix,
            }
            for p in report.problems
        ],
        "summary": {
            "errors": report.errors,
            "warnings": report.warnings,
            "strict": strict,
            "exit_status": report.exit_status(strict),
        },
    }
