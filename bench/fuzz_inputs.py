"""What the loopback fuzzer's attackers send: scripts of byte chunks built from a seeded RNG.

Each script is what one hostile connection does: random bytes, mutated valid IRC lines,
lines cut off half-way, floods of valid commands. How the connection then ends (a clean
close, a reset, a half-close, or just staying silent) is part of the script too, because
servers break as often on the way a peer leaves as on what it says.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["ENDINGS", "KINDS", "Script", "make_script"]

KINDS = ("random_bytes", "mutated_lines", "partial_lines", "flood", "registered_garbage")
ENDINGS = ("close", "reset", "half_close", "linger")

#: Valid lines the mutator starts from: every command the server knows, with tags and odd cases.
CORPUS = (
    "CAP LS 302", "CAP REQ :echo-message message-tags server-time batch labeled-response draft/chathistory",
    "CAP END", "NICK {nick}", "USER u 0 * :Fuzzy User", "PASS secret", "SESSION abc", "PING :token", "PONG :x",
    "JOIN #fuzz", "JOIN #a,#b,&c", "JOIN 0", "PART #fuzz :bye", "TOPIC #fuzz :a topic", "TOPIC #fuzz",
    "NAMES #fuzz", "LIST", "MODE #fuzz +nt", "MODE #fuzz +o keeper", "MODE {nick} +i", "MODE #fuzz b",
    "PRIVMSG #fuzz :hello", "PRIVMSG keeper,#fuzz :hi", "NOTICE #fuzz :note", "@+typing=active TAGMSG #fuzz",
    "@label=L1;+chat/cid=c1 PRIVMSG #fuzz :labeled", "WHO #fuzz", "WHOIS keeper", "ISON keeper listener",
    "USERHOST keeper", "AWAY :gone", "AWAY", "MOTD", "LUSERS", "VERSION", "CHATHISTORY LATEST #fuzz * 10",
    "CHATHISTORY BEFORE #fuzz timestamp=2030-01-01T00:00:00.000Z 5",
    "CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00Z timestamp=2040-01-01T00:00:00Z 5",
    "CHATHISTORY AROUND #fuzz msgid=abc 3", "QUIT :leaving",
)  # fmt: skip
#: Bytes that matter to an IRC parser, inserted by the mutator more often than chance would.
SPECIAL = (b"\r", b"\n", b"\r\n", b"\x00", b" ", b":", b"@", b";", b"=", b",", b"#", b"\\", b"\xff", b"\xc3", b"\x01")


@dataclass(slots=True)
class Script:
    kind: str
    chunks: list[bytes]
    ending: str

    @property
    def size(self) -> int:
        return sum(len(c) for c in self.chunks)


def make_script(rng: random.Random, serial: int) -> Script:
    """One attacker's script; ``serial`` keeps its nick unique so registrations do not all collide."""
    kind = rng.choice(KINDS)
    nick = f"fz{serial}"
    builder = {
        "random_bytes": _random_bytes,
        "mutated_lines": _mutated_lines,
        "partial_lines": _partial_lines,
        "flood": _flood,
        "registered_garbage": _registered_garbage,
    }[kind]
    data = builder(rng, nick)
    return Script(kind, _split(rng, data), rng.choice(ENDINGS))


def _line(template: str, nick: str) -> bytes:
    return template.format(nick=nick).encode() + b"\r\n"


def _register(nick: str) -> bytes:
    return _line("NICK {nick}", nick) + _line("USER u 0 * :Fuzzy User", nick)


def _random_bytes(rng: random.Random, nick: str) -> bytes:
    size = rng.choice((1, 16, 300, 600, 5000, 20000))
    return rng.randbytes(size)


def mutate(rng: random.Random, line: bytes) -> bytes:
    """A few random edits to a valid line: flips, inserts, deletes, repeats, cuts."""
    data = bytearray(line)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[pos % len(data)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[pos:pos] = rng.choice(SPECIAL)
        elif op == 2 and data:
            del data[pos : pos + rng.randint(1, 8)]
        elif op == 3:
            data[pos:pos] = data[pos : pos + rng.randint(1, 40)] * rng.randint(2, 30)
        elif op == 4:
            data[pos:pos] = rng.choice((b"x", b"\xe2\x80\xae", b"\xf0\x9f\x98\x80", b" ")) * rng.randint(100, 700)
        else:
            data[pos:pos] = rng.randbytes(rng.randint(1, 10))
    return bytes(data)


def _mutated_lines(rng: random.Random, nick: str) -> bytes:
    prefix = _register(nick) if rng.random() < 0.5 else b""
    lines = (mutate(rng, _line(rng.choice(CORPUS), nick)) for _ in range(rng.randint(1, 60)))
    return prefix + b"".join(lines)


def _partial_lines(rng: random.Random, nick: str) -> bytes:
    """Lines without their end: the server must wait, then cope with whatever comes (or does not)."""
    line = _line(rng.choice(CORPUS), nick)
    cut = line[: rng.randrange(len(line))]
    if rng.random() < 0.3:
        cut += b"x" * rng.choice((100, 520, 5000, 70000))  # past every limit, still no terminator
    return _register(nick) + cut if rng.random() < 0.5 else cut


def _flood(rng: random.Random, nick: str) -> bytes:
    template = rng.choice(("PRIVMSG #fuzz :flood {n}", "JOIN #f{n}", "PING :{n}", "WHO #fuzz", "NAMES", "LIST"))
    count = rng.choice((50, 300, 1500))
    return (
        _register(nick)
        + _line("JOIN #fuzz", nick)
        + b"".join((template.format(n=i) + "\r\n").encode() for i in range(count))
    )


def _registered_garbage(rng: random.Random, nick: str) -> bytes:
    parts = [_register(nick), _line("JOIN #fuzz", nick)]
    for _ in range(rng.randint(1, 30)):
        if rng.random() < 0.5:
            parts.append(rng.randbytes(rng.randint(1, 200)))
        else:
            parts.append(mutate(rng, _line(rng.choice(CORPUS), nick)))
    return b"".join(parts)


def _split(rng: random.Random, data: bytes) -> list[bytes]:
    """Cut the stream at random points, some inside a line or a UTF-8 character."""
    chunks: list[bytes] = []
    pos = 0
    while pos < len(data):
        step = rng.choice((1, 7, 64, 512, 4096, 65536))
        chunks.append(data[pos : pos + step])
        pos += step
    return chunks or [b""]
