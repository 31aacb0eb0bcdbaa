"""The report as JSON (schema ``lazymed.profile``, documented in docs/profile.md)."""

from __future__ import annotations

import json
from typing import Any

from lazymed.profiler._model import (
    Cost,
    ExistingConfig,
    ModuleCost,
    PackageCost,
    Report,
    Suggestion,
)
from lazymed.profiler._suggest import merged_lazy, suggestion_toml

SCHEMA = "lazymed.profile"
SCHEMA_VERSION = 1


def cost_dict(cost: Cost) -> dict[str, Any]:
    """``{"seconds": float, "rss_bytes": int|null, "alloc_bytes": int|null,
    "gc_objects": int|null, "threads": int|null}``."""
    return {
        "seconds": round(cost.seconds, 9),
        "rss_bytes": cost.rss_bytes,
        "alloc_bytes": cost.alloc_bytes,
        "gc_objects": cost.gc_objects,
        "threads": cost.threads,
    }


def _module(m: ModuleCost) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "package": m.package,
        "parent_id": m.parent_id,
        "imported_by": m.imported_by,
        "chain": list(m.chain),
        "imported_at": m.imported_at,
        "importer": m.importer,
        "at_startup": m.at_startup,
        "origin": m.origin,
        "c_extension": m.c_extension,
        "error": m.error,
        "thread": m.thread,
        "self": cost_dict(m.self_cost),
        "cumulative": cost_dict(m.cumulative),
    }


def _package(p: PackageCost) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "modules": p.modules,
        "failed": p.failed,
        "c_extensions": list(p.c_extensions),
        "imported_by": p.imported_by,
        "chain": list(p.chain),
        "imported_at": p.imported_at,
        "self": cost_dict(p.self_cost),
        "cumulative": cost_dict(p.cumulative),
    }


def _suggestion(s: Suggestion) -> dict[str, Any]:
    return {
        "name": s.name,
        "package": s.package,
        "modules": s.modules,
        "imported_at": s.imported_at,
        "saves": cost_dict(s.cost),
        "used_at_import": list(s.used_at_import),
    }


def existing_dict(existing: ExistingConfig | None) -> dict[str, Any] | None:
    """``{"installed", "path", "profile", "lazy", "critical", "disabled_modules",
    "lazy_source", "from_import"}`` or None."""
    if existing is None:
        return None
    return {
        "installed": existing.installed,
        "path": existing.path,
        "profile": existing.profile,
        "lazy": list(existing.lazy),
        "critical": list(existing.critical),
        "disabled_modules": list(existing.disabled_modules),
        "lazy_source": existing.lazy_source,
        "from_import": existing.from_import,
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data; every key is documented in docs/profile.md."""
    run, ov = report.run, report.overhead
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "target": {
            "kind": report.target.kind,
            "value": report.target.value,
            "args": list(report.target.args),
            "command": report.target.describe(),
        },
        "run": {
            "python": run.python,
            "executable": run.executable,
            "exit_code": run.exit_code,
            "exception": run.exception,
            "not_found": list(run.not_found),
            "seconds": round(run.seconds, 9),
            "import_seconds": round(run.import_seconds, 9),
            "modules_imported": run.modules_imported,
            "modules_at_startup": run.modules_at_startup,
            "rss_start_bytes": run.rss_start_bytes,
            "rss_end_bytes": run.rss_end_bytes,
            "rss_peak_bytes": run.rss_peak_bytes,
            "rss_peak_outside_bytes": run.rss_peak_outside_bytes,
            "gc_objects_start": run.gc_objects_start,
            "gc_objects_end": run.gc_objects_end,
            "threads_start": run.threads_start,
            "threads_end": run.threads_end,
            "alloc_end_bytes": run.alloc_end_bytes,
            "interrupted": run.interrupted,
            "stopped_by": run.stopped_by,
        },
        "overhead": {
            "profiled_seconds": round(ov.profiled_seconds, 9),
            "plain_seconds": None if ov.plain_seconds is None else round(ov.plain_seconds, 9),
            "ratio": ov.ratio,
            "alloc_pass_seconds": (
                None if ov.alloc_pass_seconds is None else round(ov.alloc_pass_seconds, 9)
            ),
            "alloc_pass_ratio": ov.alloc_ratio,
            "tracer_seconds": round(ov.tracer_seconds, 9),
            "runs": ov.runs,
        },
        "totals": cost_dict(report.totals),
        "packages": [_package(p) for p in report.packages],
        "modules": [_module(m) for m in report.modules],
        "suggestion": {
            "lazy": [_suggestion(s) for s in report.suggestions],
            "not_suggested": [_suggestion(s) for s in report.not_suggested],
            "min_seconds": report.suggest_min_seconds,
            "min_rss_bytes": report.suggest_min_rss_bytes,
            "existing": existing_dict(report.existing),
            "merged_lazy": merged_lazy(report.suggestions, report.existing),
            "toml": suggestion_toml(report),
        },
        "lazymed_status": report.lazymed_status,
        "warnings": list(report.warnings),
    }


def report_json(report: Report) -> str:
    """:func:`report_dict` serialised (indented, keys in documented order)."""
    return json.dumps(report_dict(report), indent=2)
