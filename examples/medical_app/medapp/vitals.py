"""Vital signs and the NEWS2 early-warning score. Pure Python, standard library only.

A *critical* module: ``[tool.lazymed] critical`` imports it at start-up, so the first
triage request never waits for an import.

NEWS2 (National Early Warning Score 2, Royal College of Physicians, 2017) scores seven
physiological parameters 0-3 each; the sum and the presence of any single "red" score (3) give
the clinical risk and the monitoring response. This is a teaching implementation for a demo
application: it is not a medical device and must not guide real care.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: AVPU / ACVPU levels of consciousness. Anything but "A" (alert) scores 3.
CONSCIOUSNESS_LEVELS = ("A", "C", "V", "P", "U")

# Plausible physiological ranges: values outside them are rejected as input errors.
_RANGES: dict[str, tuple[float, float]] = {
    "respiratory_rate": (0, 80),
    "spo2": (40, 100),
    "systolic_bp": (30, 300),
    "heart_rate": (0, 300),
    "temperature": (25.0, 45.0),
}


@dataclass(frozen=True)
class VitalSigns:
    """One set of observations.

    Units: respiratory_rate in breaths/min, spo2 in %, systolic_bp in mmHg, heart_rate in
    beats/min, temperature in degrees Celsius; consciousness is one of ``A C V P U``.
    ``hypercapnic`` selects NEWS2 SpO2 scale 2 (target 88-92 %, e.g. COPD with hypercapnic
    respiratory failure).
    """

    respiratory_rate: int
    spo2: int
    on_oxygen: bool
    systolic_bp: int
    heart_rate: int
    consciousness: str
    temperature: float
    hypercapnic: bool = False

    @classmethod
    def from_mapping(cls, data: Any) -> VitalSigns:
        """Validate a JSON object into :class:`VitalSigns`.

        Raises ValueError naming the first missing, mistyped or implausible field.
        """
        if not isinstance(data, dict):
            raise ValueError("vitals must be a JSON object")
        values: dict[str, Any] = {}
        for name in ("respiratory_rate", "spo2", "systolic_bp", "heart_rate"):
            values[name] = _number(data, name, integer=True)
        values["temperature"] = round(_number(data, "temperature", integer=False), 1)
        for name in ("on_oxygen", "hypercapnic"):
            value = data.get(name, False)
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
            values[name] = value
        consciousness = data.get("consciousness", "A")
        if not isinstance(consciousness, str) or consciousness.upper() not in CONSCIOUSNESS_LEVELS:
            raise ValueError(
                f"consciousness must be one of {', '.join(CONSCIOUSNESS_LEVELS)}, "
                f"got {consciousness!r}"
            )
        values["consciousness"] = consciousness.upper()
        return cls(**values)


def _number(data: dict[str, Any], name: str, *, integer: bool) -> Any:
    if name not in data:
        raise ValueError(f"missing vital sign: {name}")
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if integer and value != int(value):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    low, high = _RANGES[name]
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside the plausible range {low}-{high}")
    return int(value) if integer else float(value)


def score_respiratory_rate(rate: int) -> int:
    """NEWS2 points for breaths/min: <=8: 3, 9-11: 1, 12-20: 0, 21-24: 2, >=25: 3."""
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def score_spo2(spo2: int, *, on_oxygen: bool, hypercapnic: bool = False) -> int:
    """NEWS2 points for oxygen saturation (%), scale 1 or, if ``hypercapnic``, scale 2."""
    if not hypercapnic:
        if spo2 <= 91:
            return 3
        if spo2 <= 93:
            return 2
        if spo2 <= 95:
            return 1
        return 0
    # Scale 2: 88-92 % is the target; above it only counts against a patient on oxygen.
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not on_oxygen:
        return 0
    if spo2 <= 94:
        return 1
    if spo2 <= 96:
        return 2
    return 3


def score_oxygen(on_oxygen: bool) -> int:
    """NEWS2 points for supplemental oxygen: 2 on oxygen, 0 on air."""
    return 2 if on_oxygen else 0


def score_systolic_bp(sbp: int) -> int:
    """NEWS2 points for systolic mmHg: <=90: 3, 91-100: 2, 101-110: 1, 111-219: 0, >=220: 3."""
    if sbp <= 90:
        return 3
    if sbp <= 100:
        return 2
    if sbp <= 110:
        return 1
    if sbp <= 219:
        return 0
    return 3


def score_heart_rate(rate: int) -> int:
    """NEWS2 points for beats/min: <=40: 3, 41-50: 1, 51-90: 0, 91-110: 1, 111-130: 2, >=131: 3."""
    if rate <= 40:
        return 3
    if rate <= 50:
        return 1
    if rate <= 90:
        return 0
    if rate <= 110:
        return 1
    if rate <= 130:
        return 2
    return 3


def score_consciousness(level: str) -> int:
    """NEWS2 points for ACVPU: alert 0; new confusion, voice, pain or unresponsive 3."""
    return 0 if level == "A" else 3


def score_temperature(celsius: float) -> int:
    """NEWS2 points for deg C: <=35.0: 3, 35.1-36.0: 1, 36.1-38.0: 0, 38.1-39.0: 1, >=39.1: 2."""
    if celsius <= 35.0:
        return 3
    if celsius <= 36.0:
        return 1
    if celsius <= 38.0:
        return 0
    if celsius <= 39.0:
        return 1
    return 2


@dataclass(frozen=True)
class News2:
    """A NEWS2 result: per-parameter points, their total, the risk band and the response."""

    total: int
    parameters: dict[str, int]
    red_score: bool
    risk: str
    response: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "total": self.total,
            "parameters": dict(self.parameters),
            "red_score": self.red_score,
            "risk": self.risk,
            "response": self.response,
        }


def news2(vitals: VitalSigns) -> News2:
    """Score ``vitals`` with NEWS2 and classify the clinical risk.

    Risk bands: total 0-4 "low" (a single parameter scoring 3 makes it "low-medium"),
    5-6 "medium", 7 or more "high".
    """
    parameters = {
        "respiratory_rate": score_respiratory_rate(vitals.respiratory_rate),
        "spo2": score_spo2(vitals.spo2, on_oxygen=vitals.on_oxygen, hypercapnic=vitals.hypercapnic),
        "air_or_oxygen": score_oxygen(vitals.on_oxygen),
        "systolic_bp": score_systolic_bp(vitals.systolic_bp),
        "heart_rate": score_heart_rate(vitals.heart_rate),
        "consciousness": score_consciousness(vitals.consciousness),
        "temperature": score_temperature(vitals.temperature),
    }
    total = sum(parameters.values())
    red = any(points == 3 for points in parameters.values())
    if total >= 7:
        risk = "high"
        response = "emergency response: continuous monitoring, critical-care outreach now"
    elif total >= 5:
        risk = "medium"
        response = "urgent response: at least hourly observations, clinician review"
    elif red:
        risk = "low-medium"
        response = "urgent ward-based response: at least hourly observations"
    elif total >= 1:
        risk = "low"
        response = "ward-based response: observations at least every 4-6 hours"
    else:
        risk = "low"
        response = "routine: observations at least every 12 hours"
    return News2(total=total, parameters=parameters, red_score=red, risk=risk, response=response)
