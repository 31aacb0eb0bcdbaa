"""``[tool.lazymed.isolate.NAME]``: the named-tables kind, validated by the core."""

from __future__ import annotations

from pathlib import Path

import pytest

from lazymed import ConfigError
from lazymed._config import load_config

from ._util import write_pyproject

GOOD = """
[tool.lazymed]
lazy = ["x"]
[tool.lazymed.isolate.rag]
factory = "medapp.services.knowledge:build_index"
warm = true
max_rss_mb = 400
idle_timeout_s = 600
[tool.lazymed.isolate.big_index]
factory = "pkg.mod:Factory.create"
backend = "ray"
[tool.lazymed.profiles.dev.isolate.rag]
warm = false
"""


def test_named_tables_validate_and_keep_their_names(tmp_path: Path) -> None:
    cfg = load_config(write_pyproject(tmp_path, GOOD), environ={})
    assert cfg.isolate == {
        "rag": {
            "factory": "medapp.services.knowledge:build_index",
            "warm": True,
            "max_rss_mb": 400,
            "idle_timeout_s": 600,
        },
        "big_index": {"factory": "pkg.mod:Factory.create", "backend": "ray"},
    }


def test_profile_merges_key_by_key_into_a_named_table(tmp_path: Path) -> None:
    cfg = load_config(write_pyproject(tmp_path, GOOD), profile="dev", environ={})
    assert cfg.isolate["rag"]["warm"] is False
    assert cfg.isolate["rag"]["max_rss_mb"] == 400  # untouched by the profile
    assert "profiles.dev" in cfg.describe("isolate.rag.warm")


def test_environment_overrides_one_key_of_one_service(tmp_path: Path) -> None:
    cfg = load_config(
        write_pyproject(tmp_path, GOOD),
        environ={"LAZYMED_ISOLATE__RAG__CALL_TIMEOUT_S": "2.5", "LAZYMED_ISOLATE__RAG__WARM": "0"},
    )
    assert cfg.isolate["rag"]["call_timeout_s"] == 2.5
    assert cfg.isolate["rag"]["warm"] is False
    assert cfg.describe("isolate.rag.call_timeout_s") == (
        "environment LAZYMED_ISOLATE__RAG__CALL_TIMEOUT_S"
    )


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (
            '[tool.lazymed.isolate.rag]\nfactory = "medapp.knowledge"\n',
            ["[tool.lazymed.isolate.rag] key 'factory'", "package.module:callable"],
        ),
        (
            '[tool.lazymed.isolate.rag]\nfactory = "a:b"\nmax_rss = 4\n',
            ["[tool.lazymed.isolate.rag]", "unknown key 'max_rss'", "max_rss_mb"],
        ),
        (
            '[tool.lazymed.isolate.rag]\nfactory = "a:b"\nbackend = "thread"\n',
            ["key 'backend'", "'process', 'ray'"],
        ),
        (
            '[tool.lazymed.isolate.rag]\nfactory = "a:b"\nidle_timeout_s = -1\n',
            ["key 'idle_timeout_s'", ">= 0"],
        ),
        (
            '[tool.lazymed.isolate.Rag]\nfactory = "a:b"\n',
            ["'Rag' cannot name a table", "lower-case"],
        ),
        ("[tool.lazymed]\nisolate = 3\n", ["[tool.lazymed.isolate]", "table of named tables"]),
        ("[tool.lazymed.isolate.rag]\nwarm = true\n", ["[tool.lazymed.isolate.rag]", "'factory'"]),
    ],
)
def test_bad_isolate_table_names_file_and_key(
    tmp_path: Path, body: str, fragments: list[str]
) -> None:
    path = write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("LAZYMED_ISOLATE__RAG__CALL_TIMEOUT", "LAZYMED_ISOLATE__<NAME>__<KEY>"),
        ("LAZYMED_ISOLATE__RAG__WARM", "expected true or false"),
        ("LAZYMED_ISOLATE__OTHER__WARM", "no 'factory' key"),
    ],
)
def test_bad_isolate_variables(tmp_path: Path, name: str, fragment: str) -> None:
    value = "maybe" if name.endswith("__RAG__WARM") else "1"
    with pytest.raises(ConfigError, match=r".") as info:
        load_config(write_pyproject(tmp_path, GOOD), environ={name: value})
    assert fragment in str(info.value)
    assert name in str(info.value)
