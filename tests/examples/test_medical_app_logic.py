"""The medical app's light, pure-Python logic: NEWS2, triage, the hashing embedding, the corpus.

These modules are standard library only, so they are imported in this process; the fixture
puts the app on ``sys.path`` and removes it and every module it added afterwards.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "examples" / "medical_app"


@pytest.fixture
def medapp() -> Iterator[dict[str, ModuleType]]:
    """``{"vitals", "triage", "embedding", "knowledge_notes", "boot"}`` from the app, imported
    fresh; sys.path and sys.modules are restored afterwards."""
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    sys.path.insert(0, str(APP_DIR))
    try:
        import medapp.boot
        import medapp.embedding
        import medapp.triage
        import medapp.vitals

        yield {
            "vitals": medapp.vitals,
            "triage": medapp.triage,
            "embedding": medapp.embedding,
            "boot": medapp.boot,
        }
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            del sys.modules[name]


NORMAL: dict[str, Any] = {
    "respiratory_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 124,
    "heart_rate": 72,
    "consciousness": "A",
    "temperature": 36.8,
}


@pytest.mark.parametrize(
    ("function", "cases"),
    [
        (
            "score_respiratory_rate",
            [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3)],
        ),
        (
            "score_systolic_bp",
            [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)],
        ),
        (
            "score_heart_rate",
            [
                (40, 3),
                (41, 1),
                (50, 1),
                (51, 0),
                (90, 0),
                (91, 1),
                (110, 1),
                (111, 2),
                (130, 2),
                (131, 3),
            ],
        ),
        (
            "score_temperature",
            [
                (35.0, 3),
                (35.1, 1),
                (36.0, 1),
                (36.1, 0),
                (38.0, 0),
                (38.1, 1),
                (39.0, 1),
                (39.1, 2),
            ],
        ),
    ],
)
def test_news2_parameter_boundaries(
    medapp: dict[str, ModuleType], function: str, cases: list[tuple[float, int]]
) -> None:
    score = getattr(medapp["vitals"], function)
    assert [(value, score(value)) for value, _ in cases] == cases


def test_news2_spo2_scales(medapp: dict[str, ModuleType]) -> None:
    score = medapp["vitals"].score_spo2
    assert [score(v, on_oxygen=False) for v in (91, 92, 93, 94, 95, 96)] == [3, 2, 2, 1, 1, 0]
    # Scale 2: 88-92 is the target; above it counts only on oxygen.
    assert [score(v, on_oxygen=False, hypercapnic=True) for v in (83, 84, 86, 88, 92, 97)] == [
        3,
        2,
        1,
        0,
        0,
        0,
    ]
    assert [score(v, on_oxygen=True, hypercapnic=True) for v in (92, 93, 95, 97)] == [0, 1, 2, 3]


def test_news2_totals_and_risk_bands(medapp: dict[str, ModuleType]) -> None:
    vitals = medapp["vitals"]
    normal = vitals.news2(vitals.VitalSigns.from_mapping(NORMAL))
    assert (normal.total, normal.risk, normal.red_score) == (0, "low", False)
    confused = vitals.news2(vitals.VitalSigns.from_mapping({**NORMAL, "consciousness": "c"}))
    assert (confused.total, confused.risk, confused.red_score) == (3, "low-medium", True)
    septic = vitals.news2(
        vitals.VitalSigns.from_mapping(
            {
                **NORMAL,
                "respiratory_rate": 24,
                "spo2": 93,
                "systolic_bp": 96,
                "heart_rate": 118,
                "consciousness": "C",
                "temperature": 38.9,
            }
        )
    )
    assert septic.parameters == {
        "respiratory_rate": 2,
        "spo2": 2,
        "air_or_oxygen": 0,
        "systolic_bp": 2,
        "heart_rate": 2,
        "consciousness": 3,
        "temperature": 1,
    }
    assert (septic.total, septic.risk) == (12, "high")
    medium = vitals.news2(
        vitals.VitalSigns.from_mapping(
            {**NORMAL, "on_oxygen": True, "heart_rate": 115, "temperature": 38.5}
        )
    )
    assert (medium.total, medium.risk) == (5, "medium")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"spo2": 120}, "spo2=120 is outside"),
        ({"heart_rate": "fast"}, "heart_rate must be a number"),
        ({"heart_rate": True}, "heart_rate must be a number"),
        ({"respiratory_rate": 16.5}, "respiratory_rate must be a whole number"),
        ({"consciousness": "Z"}, "consciousness must be one of"),
        ({"on_oxygen": "no"}, "on_oxygen must be true or false"),
    ],
)
def test_vitals_validation_names_the_field(
    medapp: dict[str, ModuleType], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        medapp["vitals"].VitalSigns.from_mapping({**NORMAL, **change})
    missing = {k: v for k, v in NORMAL.items() if k != "systolic_bp"}
    with pytest.raises(ValueError, match="missing vital sign: systolic_bp"):
        medapp["vitals"].VitalSigns.from_mapping(missing)


@pytest.mark.parametrize(
    ("request_body", "level", "reason"),
    [
        ({"age": 40, "complaint": "sore throat"}, 5, "no urgent findings"),
        ({"age": 40, "complaint": "sprained ankle", "pain": 3}, 4, "mild pain 3/10"),
        ({"age": 40, "complaint": "abdominal pain", "pain": 4}, 3, "complaint: abdominal pain"),
        (
            {"age": 58, "complaint": "Crushing CHEST PAIN", "pain": 6},
            2,
            "red-flag complaint: chest pain",
        ),
        ({"age": 30, "complaint": "renal colic", "pain": 9}, 2, "severe pain 9/10"),
        ({"age": 42, "complaint": "anaphylaxis after wasp sting"}, 1, "life threat: anaphylaxis"),
        (
            {"age": 81, "complaint": "fever", "vitals": {**NORMAL, "temperature": 38.4}},
            3,
            "fever 38.4 C at age 81",
        ),
        (
            {"age": 70, "complaint": "unwell", "vitals": {**NORMAL, "consciousness": "U"}},
            1,
            "responds only to nothing",
        ),
        (
            {"age": 70, "complaint": "unwell", "vitals": {**NORMAL, "consciousness": "V"}},
            2,
            "NEWS2 red score in consciousness",
        ),
        (
            {"age": 70, "complaint": "unwell", "vitals": {**NORMAL, "systolic_bp": 75}},
            1,
            "systolic BP 75 mmHg",
        ),
    ],
)
def test_triage_levels(
    medapp: dict[str, ModuleType], request_body: dict[str, Any], level: int, reason: str
) -> None:
    result = medapp["triage"].triage_request(request_body)
    assert result.level == level
    assert reason in result.reasons
    name, wait = medapp["triage"].LEVELS[level]
    assert (result.name, result.max_wait_minutes) == (name, wait)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({"age": "old", "complaint": "x"}, "age must be a whole number"),
        ({"age": 130, "complaint": "x"}, "age=130 is outside"),
        ({"age": 30, "complaint": "  "}, "complaint must be a non-empty string"),
        ({"age": 30, "complaint": "x", "pain": 11}, "pain=11 is outside"),
    ],
)
def test_triage_validation(medapp: dict[str, ModuleType], body: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        medapp["triage"].triage_request(body)


def test_embedding_is_deterministic_unit_length_and_stems(medapp: dict[str, ModuleType]) -> None:
    embedding = medapp["embedding"]
    vector = embedding.embed("Fever and confusion in an older woman")
    assert len(vector) == embedding.DIMENSIONS
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-9)
    assert vector == embedding.embed("Fever and confusion in an older woman")
    assert embedding.embed("the and of") == [0.0] * embedding.DIMENSIONS
    assert embedding.tokens("urinary urine; confused confusion") == [
        "urina",
        "urine",
        "confu",
        "confu",
    ]


def _cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


QUESTIONS = [
    ("older woman confused with fever and urine infection", "note-001"),
    ("wasp sting with low blood pressure, which drug first?", "note-010"),
    ("face drooping and slurred speech, can we thrombolyse?", "note-003"),
    ("target oxygen saturation for COPD with high carbon dioxide", "note-005"),
    ("potassium 7 with peaked T waves", "note-021"),
    ("stiff neck, fever and purple rash in a student", "note-023"),
    ("CT head for a fall on apixaban", "note-014"),
    ("boiling water burn on the hand", "note-030"),
]


def test_corpus_has_thirty_distinct_synthetic_notes(medapp: dict[str, ModuleType]) -> None:
    notes = _load_notes()
    assert len(notes) == 30
    assert len({n["id"] for n in notes}) == 30
    assert all("synthetic" in n["source"] for n in notes)


def _load_notes() -> list[dict[str, str]]:
    # Parsed here independently of medapp.services.knowledge (which imports llama-index).
    notes = []
    for path in sorted((APP_DIR / "medapp" / "corpus").glob("*.txt")):
        header, _, body = path.read_text(encoding="utf-8").partition("\n---\n")
        fields = dict(line.split(": ", 1) for line in header.splitlines())
        notes.append({**fields, "body": " ".join(body.split())})
    return notes


def test_embedding_ranks_the_right_note_first(medapp: dict[str, ModuleType]) -> None:
    embed = medapp["embedding"].embed
    notes = [(n["id"], embed(f"{n['title']}. {n['body']}")) for n in _load_notes()]
    found = {}
    for question, _ in QUESTIONS:
        query = embed(question)
        found[question] = max(notes, key=lambda note: _cosine(query, note[1]))[0]
    assert found == dict(QUESTIONS)


def test_boot_refuses_a_profile_without_lazy_mode(medapp: dict[str, ModuleType]) -> None:
    with pytest.raises(ValueError, match="needs lazy mode"):
        medapp["boot"].boot(lazy=False, profile="development")
    assert "lazymed" not in sys.modules or not sys.modules["lazymed"].status().installed
