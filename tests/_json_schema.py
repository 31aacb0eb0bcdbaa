"""One reading of the JSON-schema tables in docs/*.md, shared by the tests that hold a command's
``--json`` output to its documentation (``lazymed profile``, ``lazymed demo``).

A table starts after a ``<!-- schema-table`` comment; each row is ``| `dotted.key` | type | ...``
where type is one of :data:`TYPES`, or several joined by ``\\|`` (``str\\|null``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: Documented type -> the Python types its JSON values load as.
TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "null": (type(None),),
    "list": (list,),
    "list[str]": (list,),
    "list[float]": (list,),
    "object": (dict,),
    "cost": (dict,),
}


def documented_schema(doc: Path) -> dict[str, str]:
    """``{dotted key: type}`` from the schema table in ``doc``."""
    text = doc.read_text(encoding="utf-8")
    table = text[text.index("<!-- schema-table") :]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+(?:\\\|[^|]+)*) \|", table, flags=re.M)
    return {key: kind.strip().replace("\\|", "|") for key, kind in rows}


def assert_type(key: str, kind: str, value: Any) -> None:
    """Assert that ``value`` (of documented ``key``) has documented type ``kind``; for a
    ``list[T]`` every item must be a ``T``."""
    allowed: tuple[type, ...] = ()
    for part in kind.split("|"):
        allowed += TYPES[part.strip()]
    assert isinstance(value, allowed), (key, kind, value)
    if kind.startswith("list["):
        item = TYPES[kind[5:-1]]
        assert all(isinstance(v, item) for v in value), (key, kind, value)
