"""Attribute probes that tools make on every object, answered without loading where the answer is
provable from the module's files.

pytest's collection reads ``_mock_name`` and ``__wrapped__`` (pytest 9), ``_pytestfixturefunction``
(pytest 8), ``__test__`` and ``__bases__`` from every global of a collected test file, through
``getattr(obj, name, default)``; ``inspect.unwrap`` (``inspect.signature``, doctest) reads
``__wrapped__``. A lazy module imported at the top of a test file would load for each of them.

A probe is answered "no such attribute" without running the module only when the loaded module
would answer the same, as far as its own files can show: the name appears nowhere in the module's
source (nor, for a package, in any ``.py`` file of its directory tree, nor as a submodule or
subpackage name), and the module's source defines no module ``__getattr__`` and has no
``import *``. Otherwise, or when the module is not Python source, or the tree is larger than
:data:`MAX_FILES` files or :data:`MAX_BYTES` bytes, the probe loads the module as any other access.
Not read: C extension files inside the package, and code outside the package that sets the name on
it (``setattr(sys.modules["pkg"], "_mock_name", ...)``).

Core layer: standard library only; reached only when a probe name is read from a pending module.
"""

import os

#: Names tools probe on every object (pytest 8/9 collection, inspect.unwrap).
PROBES = frozenset({"_mock_name", "__wrapped__", "_pytestfixturefunction", "__test__", "__bases__"})
MAX_FILES = 5000
MAX_BYTES = 64 * 1024 * 1024

# (origin, name) -> whether the module's files prove the name absent. Files are read once.
_ABSENT: "dict[tuple[str, str], bool]" = {}


def provably_absent(origin: "str | None", locations: "list[str] | None", name: str) -> bool:
    """Whether a module whose source is ``origin`` (and, for a package, whose directories are
    ``locations``) provably does not bind ``name`` when it runs (see the module docstring)."""
    if not origin or not origin.endswith(".py"):
        return False
    key = (origin, name)
    known = _ABSENT.get(key)
    if known is None:
        known = _absent(origin, locations or [], name)
        _ABSENT[key] = known
    return known


def _absent(origin: str, locations: "list[str]", name: str) -> bool:
    needle = name.encode()
    try:
        with open(origin, "rb") as fh:
            source = fh.read()
    except OSError:
        return False
    if needle in source or b"__getattr__" in source or b"import *" in source:
        return False
    files = 0
    size = 0
    for location in locations:
        for directory, subdirs, filenames in os.walk(location):
            if name in subdirs:
                return False  # a subpackage of that name: importing it binds the name
            for filename in filenames:
                stem = filename.partition(".")[0]
                if stem == name:
                    return False  # a submodule of that name (source or extension)
                if not filename.endswith(".py"):
                    continue
                files += 1
                path = os.path.join(directory, filename)
                try:
                    with open(path, "rb") as fh:
                        data = fh.read()
                except OSError:
                    return False
                size += len(data)
                if files > MAX_FILES or size > MAX_BYTES:
                    return False  # too large to read for a probe: load instead
                if needle in data:
                    return False
    return True
