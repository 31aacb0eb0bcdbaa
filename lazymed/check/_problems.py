"""The check itself: every registered name resolved and judged, as a :class:`Report` of
:class:`Problem` s (codes in docs/check-and-scan.md). Imports nothing it checks."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from lazymed._config import Config, env_flag, load_config
from lazymed._errors import ConfigError
from lazymed.check._distributions import config_error_hints, distribution_hint, distribution_text
from lazymed.check._resolve import Resolution, resolve, startup_modules

ROLES = ("critical", "lazy", "disabled")
_ROLE_KEY = {"lazy": "lazy", "critical": "critical", "disabled": "disabled_modules"}
#: Extension files listed per package in the output (all are counted).
MAX_LISTED_EXTENSIONS = 5


@dataclass(frozen=True)
class Role:
    """One registration of a name: role, the profile of the configuration that registers it,
    whether that configuration is the effective one, and where the value came from."""

    role: str
    profile: str | None
    in_effect: bool
    source: str


@dataclass
class ModuleReport:
    """Everything ``check`` found out about one registered name."""

    name: str
    roles: list[Role]
    resolution: Resolution
    stdlib: bool
    imported_at_startup: bool | None


@dataclass(frozen=True)
class Problem:
    """``severity``: "error" or "warning"; ``code``: see docs/check-and-scan.md."""

    severity: str
    code: str
    name: str | None
    message: str
    fix: str


@dataclass
class Report:
    """The outcome of a check (see :func:`report_json` for its JSON form)."""

    config: Config
    settings: list[tuple[str, object, str]]
    search_path_extra: list[str]
    modules: list[ModuleReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    startup_error: str | None = None

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    def exit_status(self, strict: bool) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0


def _flatten(table: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out


def source_kind(source: str) -> str:
    """ "default", "environment", "keyword", "profile" or "file" for a ``Config.sources`` value."""
    if source == "default":
        return "default"
    if source.startswith("environment "):
        return "environment"
    if source.startswith("install()"):
        return "keyword"
    if "[tool.lazymed.profiles." in source:
        return "profile"
    return "file"


def _extra_path(cfg: Config) -> list[str]:
    """The config file's directory and its ``src/``, where they are not on ``sys.path``: an
    application usually runs from there, so its own modules (``critical``) live there."""
    if cfg.path is None:
        return []
    root = os.path.dirname(cfg.path)
    on_path = {os.path.abspath(p or os.curdir) for p in sys.path}
    return [d for d in (root, os.path.join(root, "src")) if os.path.isdir(d) and d not in on_path]


def _registrations(
    configs: Sequence[tuple[Config, bool]],
) -> dict[str, list[Role]]:
    names: dict[str, list[Role]] = {}
    seen: set[tuple[str, str]] = set()
    for cfg, in_effect in configs:
        for role in ROLES:
            key = _ROLE_KEY[role]
            values: tuple[str, ...] = getattr(cfg, key)
            for name in values:
                if (name, role) in seen:
                    continue
                seen.add((name, role))
                names.setdefault(name, []).append(
                    Role(role, cfg.profile, in_effect, cfg.describe(key))
                )
    return names


def _where(role: Role) -> str:
    return "" if role.in_effect else f" (profile {role.profile!r}, not active)"


def _problems_for(mod: ModuleReport) -> list[Problem]:
    res = mod.resolution
    out: list[Problem] = []
    for role in mod.roles:
        label = f"{role.role} {mod.name!r}{_where(role)}"
        key = _ROLE_KEY[role.role]
        if res.not_package is not None:
            out.append(
                Problem(
                    "warning",
                    "not-a-package",
                    mod.name,
                    f"{label}: {res.not_package!r} is a module, not a package; "
                    f"{mod.name!r} exists only if {res.not_package!r} creates it when it "
                    "runs, which cannot be verified without importing it",
                    f"register the package or module that is imported ({res.not_package!r}),"
                    f" or check the name in {key} ({role.source})",
                )
            )
        elif not res.found:
            detail = ""
            if res.missing and res.missing != mod.name:
                detail = f" ({res.missing!r} does not exist)"
            if res.lookup_error:
                detail += f" [{res.lookup_error}]"
            mean = f" — did you mean {res.suggestion!r}?" if res.suggestion else ""
            if res.distribution is not None:
                mean = f" — {distribution_text(mod.name, res.distribution, res.provides)}"
            if role.role == "critical":
                out.append(
                    Problem(
                        "error",
                        "not-found",
                        mod.name,
                        f"critical module {mod.name!r} not found{detail}{mean}{_where(role)}",
                        f"install it or remove it from critical ({role.source}): install() "
                        "imports critical modules at once and would raise ModuleNotFoundError",
                    )
                )
            elif role.role == "lazy":
                out.append(
                    Problem(
                        "error",
                        "not-found",
                        mod.name,
                        f"lazy module {mod.name!r} not found{detail}{mean}{_where(role)}",
                        f"correct the name in lazy ({role.source}) or install the package that "
                        "provides it (its import statement raises ModuleNotFoundError)",
                    )
                )
            elif res.suggestion:
                out.append(
                    Problem(
                        "error",
                        "not-found",
                        mod.name,
                        f"disabled module {mod.name!r} not found{detail}{mean}{_where(role)}",
                        f"correct the name in disabled_modules ({role.source}): as written, "
                        f"{res.suggestion!r} is not switched off",
                    )
                )
            else:
                out.append(
                    Problem(
                        "warning",
                        "not-installed",
                        mod.name,
                        f"disabled module {mod.name!r} is not installed here{detail}"
                        f"{_where(role)}; its imports still succeed (as disabled stand-ins)",
                        "nothing to do if that is deliberate (an SDK left out of this "
                        f"environment); otherwise correct the name in disabled_modules "
                        f"({role.source})",
                    )
                )
            continue
        if mod.imported_at_startup and role.role in ("lazy", "disabled"):
            severity = "warning" if role.role == "lazy" else "error"
            effect = (
                "stays eager" if role.role == "lazy" else "stays enabled: it is NOT switched off"
            )
            out.append(
                Problem(
                    severity,
                    "imported-at-startup",
                    mod.name,
                    f"{label} is imported at interpreter start-up (a .pth file, "
                    f"sitecustomize or site), before install() can run: it {effect}",
                    f"find what imports it (python -X importtime -c pass 2>&1 | grep "
                    f"{mod.name.partition('.')[0]}) and remove that, or drop it from {key}",
                )
            )
        if role.role == "lazy" and mod.stdlib:
            out.append(
                Problem(
                    "warning",
                    "stdlib",
                    mod.name,
                    f"{label} is part of the standard library: standard modules are small "
                    "and often imported by other packages anyway, so making them lazy saves "
                    "little",
                    f"remove it from lazy ({role.source}) unless a measurement "
                    "(python -m lazymed profile) shows it matters",
                )
            )
        if role.role == "lazy" and res.kind in ("extension module", "built-in module"):
            out.append(
                Problem(
                    "warning",
                    "c-extension-module",
                    mod.name,
                    f"{label} is a {res.kind}: its loader creates the module object while "
                    "importing, so lazymed cannot defer it and the import stays eager",
                    f"register the pure-Python package that imports it instead, or remove it "
                    f"from lazy ({role.source})",
                )
            )
        elif role.role == "lazy" and res.extensions:
            listed = ", ".join(os.path.basename(p) for p in res.extensions[:MAX_LISTED_EXTENSIONS])
            more = len(res.extensions) - MAX_LISTED_EXTENSIONS
            listed += f", ... ({more} more)" if more > 0 else ""
            out.append(
                Problem(
                    "warning",
                    "c-extensions",
                    mod.name,
                    f"{label} contains {len(res.extensions)} C extension module(s) ({listed}): "
                    "they initialise at first use, which may be in a request or worker "
                    "thread, and cannot be unloaded",
                    "if its first use must be fast, must happen before forking, or must be on "
                    "the main thread, make it critical or use it once at start-up",
                )
            )
    lazy_roles = [r for r in mod.roles if r.role == "lazy" and r.in_effect]
    if lazy_roles and res.kind == "package" and (res.origin or "").endswith("__init__.py"):
        from lazymed._bindings import import_change  # static reading, nothing imported

        # found=True: as at run time for a submodule on the package's path (appending to
        # __path__ or sys.meta_path cannot change it)
        change = import_change(mod.name, res.origin, found=True)
        if change is not None:
            out.append(
                Problem(
                    "warning",
                    "runs-early",
                    mod.name,
                    f"`import {mod.name}.<submodule>` runs lazy package {mod.name!r} at the "
                    f"statement, before its first use: {change} may change how its "
                    "submodules are found",
                    "nothing to do if that code does change submodule resolution at import "
                    "time; otherwise import the submodule where the package is first used",
                )
            )
    return out


def _redundant(cfg: Config) -> list[Problem]:
    out: list[Problem] = []
    for key, role in (("lazy", "lazy"), ("disabled_modules", "disabled")):
        names: tuple[str, ...] = getattr(cfg, key)
        for name in names:
            for outer in names:
                if name.startswith(outer + "."):
                    out.append(
                        Problem(
                            "warning",
                            "redundant",
                            name,
                            f"{role} {name!r} is already covered by {role} {outer!r} (a name "
                            "covers its submodules)",
                            f"remove {name!r} from {key} ({cfg.describe(key)})",
                        )
                    )
                    break
    return out


def check(
    cfg: Config, others: Sequence[Config], probe: bool = True, *, disabled: bool | None = None
) -> Report:
    """Resolve and judge every name registered by ``cfg`` (the effective configuration) and by
    ``others`` (the file's other profiles). Imports nothing; runs one ``python -c`` subprocess
    when ``probe`` is true (start-up modules). ``disabled`` is whether ``LAZYMED_DISABLE`` is
    set; None reads it from the environment (ConfigError for a value that is not a boolean)."""
    if disabled is None:
        disabled = env_flag("LAZYMED_DISABLE", os.environ)
    settings = [(k, v, cfg.sources.get(k, "default")) for k, v in _flatten(cfg.table)]
    extra = _extra_path(cfg)
    report = Report(cfg, settings, extra)
    if cfg.path is None and not (cfg.lazy or cfg.critical or cfg.disabled_modules):
        report.problems.append(
            Problem(
                "error",
                "no-config",
                None,
                f"no pyproject.toml with a [tool.lazymed] table in {os.getcwd()} or its "
                "parents, and no LAZYMED_* variable registers a module: install() would "
                "change nothing",
                "run in the project directory, pass --config PATH (or set LAZYMED_CONFIG), "
                "or add [tool.lazymed] with lazy = [...] to pyproject.toml",
            )
        )
    if disabled:
        report.problems.append(
            Problem(
                "warning",
                "disabled-by-environment",
                None,
                "LAZYMED_DISABLE is set: install() does nothing and every import is eager",
                "unset LAZYMED_DISABLE (it is meant for debugging)",
            )
        )

    registrations = _registrations([(cfg, True), *((o, False) for o in others)])
    startup: frozenset[str] | None = None
    if probe and registrations:
        startup, report.startup_error = startup_modules()
        if report.startup_error is not None:
            report.problems.append(
                Problem(
                    "warning",
                    "startup-probe-failed",
                    None,
                    f"could not list the modules imported at start-up: {report.startup_error}",
                    "run `python -c 'import sys; print(sorted(sys.modules))'` to see why",
                )
            )
    search_path = [*sys.path, *extra]
    for name, roles in registrations.items():
        res = resolve(name, search_path, extra)
        if not res.found and res.not_package is None:
            hint = distribution_hint(name)  # `llama-index-core` or `pyyaml`: a pip name
            if hint is not None:
                dist, provides, _ = hint
                res = replace(
                    res,
                    distribution=dist,
                    provides=provides,
                    suggestion=provides[0] if provides else res.suggestion,
                )
        mod = ModuleReport(
            name,
            roles,
            res,
            stdlib=name.partition(".")[0] in sys.stdlib_module_names,
            imported_at_startup=None if startup is None else name in startup,
        )
        report.modules.append(mod)
        report.problems.extend(_problems_for(mod))
    report.problems.extend(_redundant(cfg))
    return report


def load_configs(
    config: str | os.PathLike[str] | None = None,
    *,
    profile: str | None = None,
    start_dir: str | None = None,
) -> tuple[Config, list[Config], list[Problem], bool]:
    """What :func:`check` needs, loaded as ``install()`` would: the effective configuration
    (``config`` or the nearest pyproject.toml from ``start_dir``, default the working
    directory; ``profile`` or ``$LAZYMED_PROFILE``), the file's other profiles, a
    ``profile-invalid`` :class:`Problem` for each of those that cannot be activated (with
    distribution hints), and whether ``LAZYMED_DISABLE`` is set.

    Raises ConfigError when the effective configuration cannot be loaded or ``LAZYMED_DISABLE``
    is not a boolean (as ``install()`` would)."""
    disabled = env_flag("LAZYMED_DISABLE", os.environ)
    cfg = load_config(
        config, profile=profile, start_dir=start_dir or os.getcwd(), profile_from="--profile"
    )
    others: list[Config] = []
    problems: list[Problem] = []
    if cfg.path is not None:
        for name in cfg.profiles:
            if name == cfg.profile:
                continue
            try:
                others.append(load_config(cfg.path, profile=name))
            except ConfigError as exc:
                hints = "".join(f"; {h['message']}" for h in config_error_hints(exc))
                problems.append(
                    Problem(
                        "error",
                        "profile-invalid",
                        None,
                        f"profile {name!r} cannot be activated: {exc}{hints}",
                        f"fix [tool.lazymed.profiles.{name}] in {cfg.path}",
                    )
                )
    return cfg, others, problems, disabled
