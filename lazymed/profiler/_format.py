"""Number formatting shared by the text, rich and HTML views (milliseconds, MiB, counts)."""

from __future__ import annotations

MISSING = "-"


def fmt_ms(seconds: float | None) -> str:
    """Seconds as milliseconds with one decimal: ``0.0123`` -> ``"12.3"``."""
    return MISSING if seconds is None else f"{seconds * 1000:.1f}"


def fmt_mib(nbytes: float | None) -> str:
    """Bytes as MiB with one decimal: ``20971520`` -> ``"20.0"``."""
    return MISSING if nbytes is None else f"{nbytes / (1 << 20):.1f}"


def fmt_count(n: float | None) -> str:
    """A count with thousands separators: ``50000`` -> ``"50,000"``."""
    return MISSING if n is None else f"{round(n):,}"


def fmt_ratio(ratio: float | None) -> str:
    """A slowdown factor: ``1.234`` -> ``"x1.23"``."""
    return MISSING if ratio is None else f"x{ratio:.2f}"


def chain_text(chain: tuple[str, ...] | list[str], limit: int = 4) -> str:
    """An import chain, outermost first, keeping the last ``limit`` links: ``a > b > c``."""
    links = list(chain)
    if len(links) > limit:
        links = [links[0], "...", *links[-(limit - 1) :]]
    return " > ".join(links)
