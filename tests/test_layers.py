"""The house rules, read from the source: imports point down, and the core is standard library only.

Every ``.py`` file under ``lazymed/`` is parsed (never imported) and each of its import statements,
at any depth, is classified: the core (a file at the root of ``lazymed/``), a feature folder
(``lazymed/<folder>/``), the standard library, or a third-party distribution. :data:`LAYERS` says,
per layer, which folders and third-party packages it may import. A folder that appears without a
row in :data:`LAYERS` fails the test: decide its place first.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lazymed"
CORE = "core"
ANY = frozenset({"*"})


@dataclass(frozen=True)
class Layer:
    """What one layer may import besides the core and the standard library.

    ``folders``: feature folders below it. ``third_party``: packages it may import anywhere
    (the layer's required dependencies). ``optional``: packages it may import only inside a
    function, or in a module of its own that nothing imports at module level (optional extras,
    loaded where used); ``ANY`` allows every package that way.
    """

    folders: frozenset[str] = frozenset()
    third_party: frozenset[str] = frozenset()
    optional: frozenset[str] = field(default_factory=frozenset)


def _layer(
    folders: tuple[str, ...] = (),
    third_party: tuple[str, ...] = (),
    optional: tuple[str, ...] | frozenset[str] = (),
) -> Layer:
    return Layer(frozenset(folders), frozenset(third_party), frozenset(optional))


#: The never-rules (architecture review §4), one row per layer. Nothing lists cli or web: no
#: layer imports them.
LAYERS: dict[str, Layer] = {
    # lazymed/*.py: standard library only, and no folder (lazymed/__init__.py may name folders
    # only for PEP 562 late names: inside functions or under TYPE_CHECKING).
    CORE: _layer(),
    # scan: each suggestion is checked against the files that import it (issue 11 #9);
    # rich: the --rich renderer only
    "profiler": _layer(folders=("scan",), optional=("rich",)),
    "check": _layer(optional=("importlib_metadata",)),  # distribution-name hints only
    "scan": _layer(),
    "hooks": _layer(optional=("wrapt",)),  # on_load's post-import hooks for unmanaged names
    "memory": _layer(third_party=("psutil", "cachetools"), optional=ANY),  # the memory extra
    # psutil: stop() and status() read workers from outside; ray: backend = "ray" only
    "isolate": _layer(folders=("memory",), optional=("psutil", "ray")),
    # server and native-library integrations: gunicorn hooks (gunicorn itself is never
    # imported: the hooks receive its objects), threadpoolctl (the `threads` extra) where used
    "integrations": _layer(optional=("threadpoolctl",)),
    "demo": _layer(folders=("memory",), third_party=("psutil",), optional=("rich",)),
    "cli": _layer(
        folders=("profiler", "check", "scan", "hooks", "memory", "isolate", "demo"),
        third_party=("psutil",),
        optional=("rich", "importlib_metadata"),
    ),
    "web": _layer(
        folders=("memory", "isolate", "profiler", "check", "scan"),
        optional=ANY,  # flask, prometheus_client, ...: each adapter imports its framework
    ),
}
#: Root files that are entry points of a layer above the core, not core.
ENTRY_POINTS = {"__main__.py": "cli"}


@dataclass(frozen=True)
class Import:
    """One import statement's target, as the importing file sees it."""

    file: str
    line: int
    target: str  # absolute dotted name
    in_function: bool
    type_checking: bool


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _package_of(path: Path) -> str:
    # the package a relative import starts from: the folder holding the file
    return ".".join(path.relative_to(PACKAGE.parent).parts[:-1])


def _module_exists(dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[0] != "lazymed":
        return False
    base = PACKAGE.parent.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path) -> list[Import]:
    """Every import in ``path``, with relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _package_of(path)
    rel = str(path.relative_to(PACKAGE.parent))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, True, type_checking)
                continue
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit_stmt(stmt, in_function, True)
                for stmt in child.orelse:
                    visit_stmt(stmt, in_function, type_checking)
                continue
            visit_stmt(child, in_function, type_checking)

    def visit_stmt(stmt: ast.AST, in_function: bool, type_checking: bool) -> None:
        targets: list[str] = []
        if isinstance(stmt, ast.Import):
            targets = [alias.name for alias in stmt.names]
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (stmt.level - 1)]
                base = ".".join(base_parts)
                module = f"{base}.{stmt.module}" if stmt.module else base
            else:
                module = stmt.module or ""
            targets = [module]
            for alias in stmt.names:  # `from lazymed import _module`: the submodule itself
                if _module_exists(f"{module}.{alias.name}"):
                    targets.append(f"{module}.{alias.name}")
        for target in targets:
            found.append(Import(rel, stmt.lineno, target, in_function, type_checking))
        if not isinstance(stmt, ast.Import | ast.ImportFrom):
            visit(stmt, in_function, type_checking)

    visit(tree, False, False)
    return found


def layer_of_file(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) == 1:
        return ENTRY_POINTS.get(rel.name, CORE)
    return rel.parts[0]


def layer_of_target(target: str) -> str | None:
    """The lazymed layer ``target`` belongs to; ``None`` outside lazymed."""
    parts = target.split(".")
    if parts[0] != "lazymed":
        return None
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return CORE


def _files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_level_importers() -> set[str]:
    """Dotted names of lazymed modules some other lazymed module imports at module level."""
    names: set[str] = set()
    for path in _files():
        for imp in imports_of(path):
            if not imp.in_function and not imp.type_checking:
                names.add(imp.target)
    return names


def _dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if path.name == "__init__.py" else parts)


def violations() -> list[str]:
    problems: list[str] = []
    imported_at_module_level = _module_level_importers()
    for path in _files():
        layer = layer_of_file(path)
        if layer not in LAYERS:
            problems.append(
                f"lazymed/{path.relative_to(PACKAGE).parts[0]}/: a folder without a row in "
                "tests/test_layers.py LAYERS: decide what it may import first"
            )
            continue
        rule = LAYERS[layer]
        is_root_init = path == PACKAGE / "__init__.py"
        for imp in imports_of(path):
            where = f"{imp.file}:{imp.line}"
            top = imp.target.split(".")[0]
            target_layer = layer_of_target(imp.target)
            if target_layer is None:
                if top in sys.stdlib_module_names or top == "__future__" or imp.type_checking:
                    continue
                if top in rule.third_party:
                    continue
                if rule.optional == ANY or top in rule.optional:
                    lazily_used = _dotted(path) not in imported_at_module_level
                    if imp.in_function or (layer != CORE and lazily_used):
                        continue
                    problems.append(
                        f"{where}: {imp.target} (optional for {layer}) imported at module level "
                        "of a module other lazymed modules import at module level"
                    )
                    continue
                problems.append(f"{where}: {layer} imports third-party {imp.target}")
            elif target_layer in (CORE, layer):
                continue
            elif is_root_init and (imp.in_function or imp.type_checking):
                continue  # PEP 562 late names of lazymed/__init__.py
            elif target_layer not in rule.folders:
                problems.append(f"{where}: {layer} imports lazymed/{target_layer}/ ({imp.target})")
    return problems


def test_imports_point_down_and_the_core_is_standard_library_only() -> None:
    assert violations() == []


def test_no_layer_may_import_cli_or_web() -> None:
    for name, rule in LAYERS.items():
        assert not {"cli", "web"} & rule.folders, name


def test_every_folder_has_a_row() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYERS), folders - set(LAYERS)


# ------------------------------------------------------------------ the checker itself


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lazymed"
    (root / "profiler").mkdir(parents=True)
    (root / "__init__.py").write_text("from ._install import install\n")
    (root / "_install.py").write_text("import sys\n")
    (root / "profiler" / "__init__.py").write_text("from .._install import install\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", root)
    return root


def test_checker_accepts_a_clean_tree(fake_package: Path) -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("file", "source", "expected"),
    [
        ("_install.py", "import psutil\n", "core imports third-party psutil"),
        ("_install.py", "def f():\n    import wrapt\n", "core imports third-party wrapt"),
        ("_install.py", "from .profiler import x\n", "core imports lazymed/profiler/"),
        ("_install.py", "from lazymed import profiler\n", "core imports lazymed/profiler/"),
        ("__init__.py", "from .profiler import x\n", "core imports lazymed/profiler/"),
        ("profiler/_x.py", "import flask\n", "profiler imports third-party flask"),
        ("profiler/_x.py", "from ..cli import main\n", "profiler imports lazymed/cli/"),
        ("memory/__init__.py", "from ..isolate import y\n", "memory/: a folder without a row"),
    ],
)
def test_checker_finds(
    fake_package: Path, monkeypatch: pytest.MonkeyPatch, file: str, source: str, expected: str
) -> None:
    for folder in ("cli", "isolate", "memory"):
        if file.startswith(folder) or source.count(f".{folder}"):
            (fake_package / folder).mkdir(exist_ok=True)
            (fake_package / folder / "__init__.py").touch()
    target = fake_package / file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    if file.startswith("memory"):
        monkeypatch.delitem(LAYERS, "memory")  # a folder without a rule
    problems = violations()
    assert any(expected in p for p in problems), problems


def test_late_names_of_the_package_init_may_name_folders(fake_package: Path) -> None:
    (fake_package / "__init__.py").write_text(
        "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from .profiler import x\n"
        "def __getattr__(name):\n    from . import profiler\n    return profiler\n"
    )
    assert violations() == []


def test_optional_packages_load_only_where_used(fake_package: Path) -> None:
    (fake_package / "profiler" / "_rich.py").write_text("import rich\n")
    assert violations() == []  # imported by nothing at module level: fine
    (fake_package / "profiler" / "__init__.py").write_text("from . import _rich\n")
    assert any("rich (optional for profiler)" in p for p in violations())
