"""Emergency-department triage: five urgency levels from vitals, complaint and pain.

A *critical* module (imported at start-up by ``[tool.lazymed] critical``). Pure Python.

The levels follow the shape of five-level systems such as the Manchester Triage System:

====  ============  ===============  ==========================
level name          max wait (min)   typical trigger
====  ============  ===============  ==========================
1     immediate     0                NEWS2 >= 7, unresponsive, life threat
2     very urgent   10               NEWS2 5-6 or a red score, red-flag complaint, pain >= 8
3     urgent        60               NEWS2 3-4, pain 5-7, frail age with fever
4     standard      120              NEWS2 1-2, pain 1-4
5     non-urgent    240              nothing of the above
====  ============  ===============  ==========================

A teaching implementation for a demo application, not a medical device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medapp.vitals import News2, VitalSigns, news2

LEVELS: dict[int, tuple[str, int]] = {
    1: ("immediate", 0),
    2: ("very urgent", 10),
    3: ("urgent", 60),
    4: ("standard", 120),
    5: ("non-urgent", 240),
}

# Complaint phrases (lower case) and the level they force at least.
_LIFE_THREATS = (
    "cardiac arrest",
    "not breathing",
    "airway obstruction",
    "anaphylaxis",
    "major haemorrhage",
    "status epilepticus",
)
_RED_FLAGS = (
    "chest pain",
    "facial droop",
    "slurred speech",
    "one-sided weakness",
    "sepsis",
    "overdose",
    "seizure",
    "vomiting blood",
    "severe bleeding",
    "head injury on anticoagulant",
    "stiff neck",
    "suicidal",
)
_AMBER_FLAGS = (
    "shortness of breath",
    "abdominal pain",
    "fever",
    "head injury",
    "fall",
    "pregnant",
    "dehydration",
    "confusion",
)


@dataclass(frozen=True)
class TriageResult:
    """The triage decision: ``level`` 1 (most urgent) to 5, its name, the longest safe wait in
    minutes, the NEWS2 result when vitals were given, and the reasons that set the level."""

    level: int
    name: str
    max_wait_minutes: int
    news2: News2 | None
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "level": self.level,
            "name": self.name,
            "max_wait_minutes": self.max_wait_minutes,
            "news2": self.news2.as_dict() if self.news2 is not None else None,
            "reasons": list(self.reasons),
        }


def triage(
    *,
    age: int,
    complaint: str,
    vitals: VitalSigns | None = None,
    pain: int = 0,
) -> TriageResult:
    """Assign a triage level.

    ``age`` in whole years (0-120), ``complaint`` free text, ``pain`` on a 0-10 scale.
    The most urgent rule that fires wins; every rule that raised the level is listed in
    ``reasons``. Raises ValueError for out-of-range input.
    """
    if not 0 <= age <= 120:
        raise ValueError(f"age={age} is outside 0-120")
    if not 0 <= pain <= 10:
        raise ValueError(f"pain={pain} is outside 0-10")
    text = " ".join(complaint.lower().split())
    level = 5
    reasons: list[str] = []

    def raise_to(new_level: int, reason: str) -> None:
        nonlocal level
        if new_level <= level:
            level = new_level
            reasons.append(reason)

    score = news2(vitals) if vitals is not None else None
    if score is not None and vitals is not None:
        if score.total >= 7:
            raise_to(1, f"NEWS2 {score.total} (high risk)")
        elif score.total >= 5:
            raise_to(2, f"NEWS2 {score.total} (medium risk)")
        elif score.red_score:
            red = sorted(name for name, points in score.parameters.items() if points == 3)
            raise_to(2, f"NEWS2 red score in {', '.join(red)}")
        elif score.total >= 3:
            raise_to(3, f"NEWS2 {score.total}")
        elif score.total >= 1:
            raise_to(4, f"NEWS2 {score.total}")
        if vitals.consciousness in ("P", "U"):
            raise_to(1, f"responds only to {'pain' if vitals.consciousness == 'P' else 'nothing'}")
        if vitals.spo2 < 85 and not vitals.hypercapnic:
            raise_to(1, f"SpO2 {vitals.spo2} %")
        if vitals.systolic_bp < 80:
            raise_to(1, f"systolic BP {vitals.systolic_bp} mmHg")
        if vitals.temperature >= 38.0 and (age >= 75 or age < 1):
            raise_to(3, f"fever {vitals.temperature} C at age {age}")

    for phrase in _AMBER_FLAGS:
        if phrase in text:
            raise_to(3, f"complaint: {phrase}")
    for phrase in _RED_FLAGS:
        if phrase in text:
            raise_to(2, f"red-flag complaint: {phrase}")
    for phrase in _LIFE_THREATS:
        if phrase in text:
            raise_to(1, f"life threat: {phrase}")

    if pain >= 8:
        raise_to(2, f"severe pain {pain}/10")
    elif pain >= 5:
        raise_to(3, f"moderate pain {pain}/10")
    elif pain >= 1:
        raise_to(4, f"mild pain {pain}/10")

    if not reasons:
        reasons.append("no urgent findings")
    name, wait = LEVELS[level]
    return TriageResult(
        level=level,
        name=name,
        max_wait_minutes=wait,
        news2=score,
        reasons=tuple(reasons),
    )


def triage_request(data: Any) -> TriageResult:
    """Validate a JSON triage request ``{"age", "complaint", "pain"?, "vitals"?}`` and triage it.

    Raises ValueError naming the bad field.
    """
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    age = data.get("age")
    if isinstance(age, bool) or not isinstance(age, int):
        raise ValueError(f"age must be a whole number of years, got {age!r}")
    complaint = data.get("complaint")
    if not isinstance(complaint, str) or not complaint.strip():
        raise ValueError("complaint must be a non-empty string")
    pain = data.get("pain", 0)
    if isinstance(pain, bool) or not isinstance(pain, int):
        raise ValueError(f"pain must be a whole number 0-10, got {pain!r}")
    raw_vitals = data.get("vitals")
    vitals = VitalSigns.from_mapping(raw_vitals) if raw_vitals is not None else None
    return triage(age=age, complaint=complaint, vitals=vitals, pain=pain)
