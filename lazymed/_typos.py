"""Typo matching for names: "did you mean". Core layer: standard library only, imported only on
an error path (an unknown config key or variable) or by ``lazymed check``.

One suggester for the whole project: optimal-string-alignment distance (a swap of two
neighbouring characters is one edit, which :mod:`difflib` does not know).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
    neighbouring characters each count 1 (``sbu`` -> ``sub`` is 1)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


def close_matches(word: str, candidates: "Iterable[str]", *, suffixes: bool = False) -> "list[str]":
    """Candidates that look like a typo of ``word``, closest first: at most 1 edit for a word
    of up to 5 characters, 2 for longer ones (``supabse`` -> ``supabase``; ``myapp`` is not
    ``mmap``), case differences counting as edits. With ``suffixes`` (config keys, whose units
    are suffixes), also ``word`` with its ``_suffix`` left off (``limit`` -> ``limit_mb``),
    ranked after the typos, and an abbreviated stem before the same ``_suffix``
    (``warn_mb`` -> ``warning_mb``); not for module names (``supabase`` is not
    ``supabase_auth``)."""
    limit = 1 if len(word) <= 5 else 2
    scored: list[tuple[int, str]] = []
    stem, sep, unit = word.rpartition("_")
    for candidate in set(candidates) - {word}:
        if suffixes and word and candidate.startswith(word + "_") and not word.endswith("_"):
            scored.append((limit + 1, candidate))
            continue
        if (
            suffixes
            and sep
            and len(stem) >= 3
            and candidate.endswith(f"_{unit}")
            and candidate[: -len(unit) - 1].startswith(stem)
        ):
            scored.append((limit + 2, candidate))
            continue
        if abs(len(candidate) - len(word)) > limit:
            continue
        distance = edit_distance(word, candidate)
        if distance <= limit:
            scored.append((distance, candidate))
    return [c for _, c in sorted(scored)]
