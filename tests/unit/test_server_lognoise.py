"""A flood of refused connections leaves a few log lines and a count, not thousands of lines."""

from __future__ import annotations

import logging

import pytest

from chat.server.lognoise import Throttle


def test_a_few_lines_per_period_then_one_summary(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    throttle = Throttle(logging.getLogger("noise"), burst=3, period=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="noise"):
        for n in range(1000):
            throttle.log(logging.INFO, "refused connections", "refused %d", n)
        throttle.log(logging.INFO, "failed TLS handshakes", "handshake failed")
        throttle.flush()
        assert [r.getMessage() for r in caplog.records] == ["refused 0", "refused 1", "refused 2", "handshake failed"]
        now[0] = 61.0
        throttle.flush()
        throttle.log(logging.INFO, "refused connections", "refused again")
    assert [r.getMessage() for r in caplog.records][4:] == [
        "997 more refused connections in the last 60 s (only the first 3 logged)",
        "refused again",
    ]
