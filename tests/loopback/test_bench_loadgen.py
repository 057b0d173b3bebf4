"""The benchmark's load generator against a real server: it must count what it measures right
(no timing is asserted here; numbers belong to `make bench`)."""

from __future__ import annotations

from bench import peers
from bench.loadgen import Swarm
from bench.run import ratio


def test_every_fanout_line_is_counted_and_nothing_is_lost() -> None:
    server = peers.start("chat-memory")
    try:
        swarm = Swarm(server.host, server.port, server.channel)
        opened = swarm.open(20, probes=3)
        assert (opened.ok, opened.failed) == (20, 0)
        paced = swarm.fanout(4, 20.0, 0.5)
        assert paced.sent > 0 and paced.expected == paced.sent * 19
        assert paced.received == paced.expected and paced.loss == 0.0
        assert paced.latencies_ns  # the probes timed their lines
        flat_out = swarm.fanout(4, None, 0.5)
        assert flat_out.received == flat_out.expected > 0
        swarm.close_all()
    finally:
        server.stop()


def test_ratios_point_the_right_way() -> None:
    assert ratio(2.0, 1.0, higher_is_better=True) == "2.00×"
    assert ratio(1.0, 4.0, higher_is_better=False) == "4.00×"
    assert ratio(float("nan"), 1.0, higher_is_better=True) == "–"
