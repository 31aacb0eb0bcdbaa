"""``--json`` against its documented schema (docs/profile.md, key by key and type by type) and
``--html`` as a self-contained page carrying the same data."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from _json_schema import assert_type, documented_schema
from _profile_helpers import REPO, run_cli, write

from lazymed.profiler._html import _json_for_script

DOC = REPO / "docs" / "profile.md"
COST_KEYS = {"seconds", "rss_bytes", "alloc_bytes", "gc_objects", "threads"}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{dotted key: value}``; list items of dicts appear under ``key[]``, cost objects whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and set(value) == COST_KEYS:
            out[path] = value
        elif isinstance(value, dict) and path not in ("lazymed_status", "suggestion.existing"):
            out.update(flatten(value, path))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out[path + "[]"] = value
            for item in value:
                for sub, v in flatten(item, path + "[]").items():
                    out.setdefault(sub, v)
        else:
            out[path] = value
    return out


def check_type(key: str, kind: str, value: Any) -> None:
    assert_type(key, kind, value)
    if kind == "cost":
        assert set(value) == COST_KEYS, key


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(
        tmp_path_factory.mktemp("out"),
        {
            "app.py": """
                import json
                import flask
                import requests
                session = requests.Session()  # used at import time: not suggested
                print("hello from the target")
                try:
                    import not_installed_xyz
                except ImportError:
                    pass
            """,
            # A module name cannot hold "</script>", but a path or a code string can.
            "weird</script><b>.py": "import json\n",
        },
    )


@pytest.fixture(scope="module")
def outputs(app: Path) -> tuple[dict[str, Any], str, str]:
    page = app / "report.html"
    proc = run_cli("--json", "--no-baseline", "--html", str(page), "app.py", cwd=app)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr, page.read_text(encoding="utf-8")


def test_json_matches_the_documented_schema(outputs: tuple[dict[str, Any], str, str]) -> None:
    report, _, _ = outputs
    schema = documented_schema(DOC)
    assert len(schema) > 60
    assert report["schema"] == "lazymed.profile" and report["version"] == 1
    actual = flatten(report)
    # Every documented key is present with its type, and nothing undocumented is emitted.
    assert set(actual) == set(schema), set(actual) ^ set(schema)
    for key, kind in schema.items():
        if key.endswith("[]"):
            continue
        values = [actual[key]]
        parent = key.split("[]")[0] + "[]" if "[]" in key else None
        if parent:  # check every item of the list, not only the first
            sub = key[len(parent) + 1 :]
            values = [_get(item, sub) for item in actual[parent]]
        for value in values:
            check_type(key, kind, value)


def _get(item: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        item = item[part]
    return item


def test_json_stdout_is_pure_and_target_output_goes_to_stderr(
    outputs: tuple[dict[str, Any], str, str],
) -> None:
    report, stderr, _ = outputs
    assert "hello from the target" in stderr
    assert report["target"]["kind"] == "script"
    assert [s["name"] for s in report["suggestion"]["lazy"]] == ["flask"]
    failed = {m["name"]: m for m in report["modules"] if m["error"]}
    assert failed["not_installed_xyz"]["error"] == "ModuleNotFoundError"
    assert failed["not_installed_xyz"]["chain"] == ["__main__"]


def test_html_is_self_contained(outputs: tuple[dict[str, Any], str, str]) -> None:
    _, _, page = outputs
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(script|img|link|iframe)[^>]*\s(src|href)\s*=", page, flags=re.I)
    assert "@import" not in page and "url(" not in page
    assert "<style>" in page and "<script>" in page
    for metric in ("time", "rss", "alloc"):
        assert f'data-metric="{metric}"' in page


def test_html_embeds_the_json_report(outputs: tuple[dict[str, Any], str, str]) -> None:
    report, _, page = outputs
    match = re.search(
        r'<script type="application/json" id="profile-data">(.*?)</script>', page, flags=re.S
    )
    assert match
    embedded = json.loads(match.group(1))
    assert embedded["modules"] == report["modules"]
    assert embedded["packages"] == report["packages"]
    # The tables are in the page itself, readable without JavaScript.
    assert ">flask</td>" in page
    assert html.escape(report["suggestion"]["toml"]) in page


def test_script_element_cannot_be_closed_by_data(app: Path) -> None:
    text = _json_for_script({"x": "</script><script>alert(1)</script> <!-- &"})
    assert "</" not in text and "<!--" not in text
    assert json.loads(text) == {"x": "</script><script>alert(1)</script> <!-- &"}
    page = app / "weird.html"
    proc = run_cli(
        "--no-alloc", "--no-baseline", "--html", str(page), "weird</script><b>.py", cwd=app
    )
    assert proc.returncode == 0, proc.stderr
    text = page.read_text(encoding="utf-8")
    assert "weird</script><b>" not in text
    assert text.count("</script>") == 2  # the data island and the chart script, nothing else


def test_html_file_that_cannot_be_written(tmp_path: Path) -> None:
    proc = run_cli(
        "--no-alloc", "--no-baseline", "--html", str(tmp_path / "no" / "dir" / "r.html"),
        "-c", "pass", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "cannot write" in proc.stderr
