"""What a scan finds: :class:`Finding`, :class:`ParseError`, :class:`ScanResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Finding kinds, in documentation order.
KINDS = (
    "from-import",
    "decorator",
    "class-base",
    "default-argument",
    "annotation",
    "module-level",
    "class-body",
    "import-time-call",
)
#: Calls that read an attribute of their first argument.


@dataclass(frozen=True)
class Finding:
    """One statement that loads lazy module ``module`` at import time.

    ``line`` and ``col`` are 1-based (``col`` counts characters); ``code`` is the offending
    expression or statement as source text (normalised by :func:`ast.unparse`, shortened).
    """

    path: str
    line: int
    col: int
    kind: str
    module: str
    code: str
    message: str
    fix: str


@dataclass(frozen=True)
class ParseError:
    """A file that could not be read or parsed (``line`` 1-based, or None)."""

    path: str
    line: int | None
    message: str


@dataclass
class ScanResult:
    """Everything a scan found, files in sorted order."""

    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        return 1 if self.findings or self.errors else 0
