"""Hypothesis strategies for hostile IRC input: real commands with nasty arguments, and raw bytes.

The commands are the ones the server implements, so most lines reach a handler instead of
bouncing off ``421``; the arguments are what a broken or malicious client sends: control
characters, odd Unicode, huge strings, wrong casing, malformed tags.
"""

from __future__ import annotations

from hypothesis import strategies as st

COMMANDS = (
    "CAP", "PASS", "NICK", "USER", "SESSION", "PING", "PONG", "QUIT", "JOIN", "PART", "TOPIC", "NAMES",
    "LIST", "MODE", "PRIVMSG", "NOTICE", "TAGMSG", "WHO", "WHOIS", "ISON", "USERHOST", "AWAY", "MOTD",
    "LUSERS", "VERSION", "CHATHISTORY", "001", "433", "FROB", "ÄBC",
)  # fmt: skip
CAPS = (
    "batch", "chat/probe", "chat/session", "draft/chathistory", "echo-message", "labeled-response",
    "message-tags", "server-time", "sasl", "-echo-message",
)  # fmt: skip
NICKS = ("alice", "Bob", "carol", "ALICE", "d[]", "x" * 30, "x" * 31, "1bad", "a b", "é", "")
CHANNELS = (
    "#lobby", "#LOBBY", "#dev", "&local", "#گفتگو", "#" + "c" * 49, "#" + "c" * 60, "#a\x07b", "#", "0", "lobby",
)  # fmt: skip

#: Characters that break naive code: C0/C1 controls, separators, bidi overrides, surrogates' neighbours.
_NASTY = "\x00\x01\x02\x03\x07\t\x0b\x0c\x1b\x7f\x85\xa0\u2028\u2029\u202e\u200b\ufeff\uffff:;,@!# \\=é漢😀"
nasty_text = st.text(alphabet=st.sampled_from(_NASTY) | st.characters(codec="utf-8"), max_size=40)
long_text = st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "é", "😀", " ", ":", "\x01"]), st.integers(0, 700))
text = st.one_of(nasty_text, long_text, st.sampled_from(["", " ", ":", "*", "0", "-1", "²", "10", "9" * 50]))


def _with_case(word: str, flips: list[bool]) -> str:
    return "".join(ch.lower() if flip else ch for ch, flip in zip(word, flips + [False] * len(word), strict=False))


cased_command = st.builds(_with_case, st.sampled_from(COMMANDS), st.lists(st.booleans(), max_size=12))

_history_ref = st.one_of(
    st.sampled_from(["*", "msgid=", "timestamp=", "timestamp=2027-01-15T08:00:00.000Z",
                     "timestamp=2027-13-45T99:00:00Z", "timestamp=0001-01-01T00:00:00Z",
                     "timestamp=9999-12-31T23:59:59.999Z", "bogus"]),
    st.builds(lambda t: "msgid=" + t, text),
)  # fmt: skip
history_args = st.tuples(
    st.sampled_from(["LATEST", "before", "AFTER", "AROUND", "BETWEEN", "TARGETS", "NOPE"]),
    st.sampled_from(NICKS + CHANNELS) | text,
    _history_ref,
    _history_ref,
    st.sampled_from(["1", "5", "0", "-3", "²", "100000", "9" * 40, "x"]),
).map(list)

argument = st.one_of(st.sampled_from(NICKS), st.sampled_from(CHANNELS), st.sampled_from(CAPS), text)

tag_key = st.sampled_from(["label", "+chat/cid", "+draft/reply", "msgid", "time", "batch", "+", "", "+a b", "+é", "x"])
tag_section = st.one_of(
    st.just(""),
    st.lists(st.tuples(tag_key, st.one_of(st.just(None), text)), max_size=4).map(
        lambda items: "@" + ";".join(k if v is None else f"{k}={v}" for k, v in items) + " "
    ),
    st.builds(lambda n: "@+big=" + "v" * n + " ", st.sampled_from([10, 4080, 4089, 4090, 4100, 9000])),
    st.sampled_from(["@ ", "@;;; ", "@=x ", "@a=\\ ", "@+x=\\:\\s\\\\\\r\\n "]),
)


def _line(tags: str, command: str, args: list[str]) -> str:
    parts = [command, *args[:-1]]
    if args:
        parts.append(args[-1] if args[-1] and " " not in args[-1] and not args[-1].startswith(":") else ":" + args[-1])
    return tags + " ".join(parts)


command_line = st.one_of(
    st.builds(_line, tag_section, cased_command, st.lists(argument, max_size=5)),
    st.builds(lambda tags, args: _line(tags, "CHATHISTORY", args), tag_section, history_args),
    st.builds(lambda caps: f"CAP REQ :{' '.join(caps)}", st.lists(st.sampled_from(CAPS), max_size=4)),
    st.builds(lambda n: " " * n, st.integers(0, 5)),
    st.builds(lambda n: "JOIN " + ",".join(f"#r{i}" for i in range(n)), st.integers(1, 120)),
    st.builds(lambda n: f"PRIVMSG {','.join(['#lobby'] * n)} :hi", st.integers(1, 10)),
)

raw_bytes = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda b, n: b * n, st.sampled_from([b"\r", b"\n", b"\x00", b"\xff", b"@", b":", b" ", b"A"]),
              st.integers(1, 9000)),
    st.builds(lambda line: line.encode(), command_line).map(lambda b: b[: len(b) // 2]),
)  # fmt: skip
