"""The benchmark scenarios, each a function of one freshly started server.

Each returns a flat dict of numbers (and the generator's busy share, so a result limited by the
generator itself is flagged). They are the same for every peer: IRC is IRC.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.loadgen import SATURATED, Swarm
from bench.peers import Peer

Result = dict[str, Any]

#: Seconds of sending per fan-out run (the quick mode shortens them).
PACED_SECONDS = 5.0
MAX_SECONDS = 4.0
SENDERS = 10


@dataclass(frozen=True)
class Scenario:
    key: str  # e.g. "paced-500"
    title: str
    run: Callable[[Peer], Result]
    peers: tuple[str, ...]  # which servers it applies to
    main: str  # the headline metric
    higher_is_better: bool


def _swarm(peer: Peer) -> Swarm:
    return Swarm(peer.host, peer.port, peer.channel)


def fanout(clients: int, rate: float | None, seconds: float) -> Callable[[Peer], Result]:
    """``SENDERS`` clients talk to the room, ``rate`` messages per second each (``None``: as fast
    as the server delivers); paced runs also time their lines on a few probe clients."""

    def run(peer: Peer) -> Result:
        swarm = _swarm(peer)
        try:
            opened = swarm.open(clients, probes=min(10, clients - SENDERS) if rate else 0)
            cpu = peer.cpu_seconds()
            result = swarm.fanout(SENDERS, rate, seconds)
            cpu = peer.cpu_seconds() - cpu
            out: Result = {"clients": opened.ok, "lines_per_s": result.lines_per_second, "loss": result.loss}
            if rate:
                out |= {"p50_ms": result.percentile(0.5), "p99_ms": result.percentile(0.99)}
            out["cpu_us_per_line"] = cpu / result.received * 1e6 if result.received else float("nan")
            out["generator_saturated"] = result.generator_busy >= SATURATED
            return out
        finally:
            swarm.close_all()

    return run


def capacity(connections: int) -> Callable[[Peer], Result]:
    def run(peer: Peer) -> Result:
        swarm = _swarm(peer)
        try:
            before = peer.rss_bytes()
            # 8 connections in progress at a time: registration speed, not the listen backlog (ngIRCd: 10)
            opened = swarm.open(connections, join=False, window=8, timeout=20)
            after = peer.rss_bytes()
            return {
                "registered": opened.ok,
                "failed": opened.failed,
                "seconds": opened.seconds,
                "kb_per_conn": (after - before) / max(1, opened.ok) / 1024,
                "generator_saturated": opened.generator_busy >= SATURATED,
            }
        finally:
            swarm.close_all()

    return run


def storm(clients: int) -> Callable[[Peer], Result]:
    def run(peer: Peer) -> Result:
        swarm = _swarm(peer)
        try:
            opened = swarm.open(clients, timeout=20)  # all at once; what is not in by then failed
            return {
                "joined": opened.ok,
                "failed": opened.failed,
                "seconds": opened.seconds,
                "generator_saturated": opened.generator_busy >= SATURATED,
            }
        finally:
            swarm.close_all()

    return run


def catch_up(clients: int, messages: int) -> Callable[[Peer], Result]:
    """History filled with ``messages`` lines, then ``clients`` each fetch all of them at once."""

    def run(peer: Peer) -> Result:
        writer = _swarm(peer)
        try:
            writer.open(2)
            talker, listener = writer.joined()
            prefix = f"PRIVMSG {peer.channel} :history line ".encode()
            for n in range(messages):
                writer.send(talker, prefix + str(n).encode() + b"\r\n")
            deadline = time.perf_counter() + 60
            while listener.received < messages and time.perf_counter() < deadline:
                writer.pump(0.01)
        finally:
            writer.close_all()
        readers = _swarm(peer)
        readers.caps_line = b"CAP REQ :batch draft/chathistory server-time message-tags\r\n"
        try:
            readers.open(clients)
            conns = readers.joined()
            for conn in conns:
                conn.parse = True  # to see the end of each history batch
            start_cpu, start = time.process_time(), time.perf_counter()
            readers.broadcast(conns, f"CHATHISTORY LATEST {peer.channel} * {messages}\r\n".encode())
            deadline = start + 60
            while time.perf_counter() < deadline and any(c.batches_done < 1 for c in conns):
                readers.pump(0.01)
            seconds = time.perf_counter() - start
            delivered = sum(c.received for c in conns)  # readers receive nothing but history
            return {
                "clients": len(conns),
                "delivered": delivered,
                "expected": len(conns) * messages,
                "seconds": seconds,
                "generator_saturated": (time.process_time() - start_cpu) / seconds >= SATURATED,
            }
        finally:
            readers.close_all()

    return run


def all_scenarios(quick: bool = False) -> list[Scenario]:
    paced_s = 2.0 if quick else PACED_SECONDS
    max_s = 2.0 if quick else MAX_SECONDS
    irc = ("chat", "ngircd", "miniircd")
    out = [
        Scenario(f"paced-{n}", f"paced fan-out, {n} clients", fanout(n, 10.0, paced_s), irc, "p99_ms", False)
        for n in (50, 200, 500)
    ]
    out += [
        Scenario(f"max-{n}", f"max-speed fan-out, {n} clients", fanout(n, None, max_s), (*irc, "chat-memory"),
                 "lines_per_s", True)
        for n in (50, 500)
    ]  # fmt: skip
    out += [
        Scenario(f"capacity-{n}", f"{n:,} idle connections", capacity(n), irc, "seconds", False)
        for n in ((1000, 2000) if quick else (1000, 5000, 10000))
    ]
    out.append(Scenario("storm-1000", "reconnect storm, 1,000 clients", storm(1000), irc, "seconds", False))
    out.append(
        Scenario(
            "catchup-100x1000",
            "catch-up, 100 clients x 1,000 messages",
            catch_up(100, 1000),
            ("chat",),
            "seconds",
            False,
        )
    )
    return out
