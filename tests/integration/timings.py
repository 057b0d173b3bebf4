"""How long startup and recovery took, collected during the run and shown in pytest's summary."""

from __future__ import annotations

__all__ = ["record_timing", "summary_lines"]

_timings: list[tuple[str, str, float]] = []


def record_timing(scenario: str, what: str, seconds: float) -> None:
    """Shown at the end of the run, so slow startup or recovery is noticed before users do."""
    _timings.append((scenario, what, seconds))


def summary_lines() -> list[str]:
    return [f"{scenario:<16} {what:<52} {seconds:6.1f} s" for scenario, what, seconds in _timings]
