"""The per-address budget of failed password checks, with a fake clock."""

from __future__ import annotations

from chat.server.budget import FailureBudget


def test_burst_then_one_per_second() -> None:
    now = [100.0]
    budget = FailureBudget(lambda: now[0], burst=3, rate=1.0)
    for _ in range(3):
        assert budget.allows("a")
        budget.failed("a")
    assert not budget.allows("a") and budget.allows("b")
    now[0] += 0.5
    assert not budget.allows("a")
    now[0] += 0.5
    assert budget.allows("a")
    budget.failed("a")
    assert not budget.allows("a")


def test_memory_is_bounded_and_a_guesser_stays_throttled() -> None:
    now = [0.0]
    budget = FailureBudget(lambda: now[0], burst=1, rate=1.0, max_addresses=100)
    budget.failed("guesser")
    for i in range(10_000):
        now[0] += 0.0001
        budget.failed(f"10.0.{i // 256}.{i % 256}")
        assert len(budget) <= 100
    now[0] += 0.5  # some made-up addresses are still throttled, but the table stayed small
    assert len(budget) <= 100
