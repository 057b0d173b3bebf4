"""Server password, SASL PLAIN, reserved nicks, OPER, KILL and KICK, with plain data."""

from __future__ import annotations

import base64
import logging

import pytest

from chat.config import Auth, Tls
from chat.protocol import MAX_CLIENT_TAGS, LineReader, LineTooLong, Message
from chat.server.accounts import Account, AccountStore, ScryptParams
from tests.helpers.core_harness import FakeClient, Harness

FAST = ScryptParams(n=2**10)  # the hash format is the same; the tests only run faster


def numerics(msgs: list[Message]) -> list[str]:
    return [m.command for m in msgs if m.command.isdigit()]


def store(*accounts: tuple[str, str, bool]) -> AccountStore:
    accs = AccountStore.in_memory(params=FAST)
    for name, password, is_oper in accounts:
        accs.add(name, password, oper=is_oper)
    return accs


def plain(authcid: str, password: str, authzid: str = "") -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


def sasl_login(client: FakeClient, name: str, password: str) -> list[Message]:
    client.send("CAP LS 302", "CAP REQ :sasl", "AUTHENTICATE PLAIN")
    client.take()
    client.send(f"AUTHENTICATE {plain(name, password)}")
    return client.take()


# ----------------------------------------------------------------------- server password


@pytest.mark.parametrize("lines", [[], ["PASS wrong"], ["PASS :s3cret "]])
def test_missing_or_wrong_server_password_is_464_then_error(lines: list[str]) -> None:
    h = Harness(auth=Auth(password="s3cret"))
    c = h.connect().send(*lines, "NICK alice", "USER a 0 * :A")
    msgs = c.take()
    assert numerics(msgs) == ["464"]
    assert msgs[-1].command == "ERROR" and "Bad password" in msgs[-1].params[0]
    assert c.client.closing and not c.client.registered
    assert h.core.find_nick("alice") is None


@pytest.mark.parametrize(
    ("lines", "level"),
    [
        (["CAP REQ chat/probe"], logging.DEBUG),  # chat status every few seconds: not news
        (["CAP REQ chat/probe", "PASS guess"], logging.INFO),  # a guess is news, probe or not
        ([], logging.INFO),
    ],
)
def test_a_health_check_refused_for_want_of_a_password_is_not_logged_as_news(
    caplog: pytest.LogCaptureFixture, lines: list[str], level: int
) -> None:
    caplog.set_level(logging.DEBUG, logger="chat.server")
    h = Harness(auth=Auth(password="s3cret"))
    c = h.connect().send(*lines, "NICK status-1", "USER s 0 * :S", "CAP END")
    assert "464" in numerics(c.take())
    refusals = [r for r in caplog.records if "refused, wrong or missing server password" in r.getMessage()]
    assert [r.levelno for r in refusals] == [level]


def test_right_server_password_registers() -> None:
    h = Harness(auth=Auth(password="s3cret"))
    c = h.connect().send("PASS s3cret", "NICK alice", "USER a 0 * :A")
    assert "001" in numerics(c.take())


def test_no_server_password_configured_ignores_pass() -> None:
    h = Harness()
    c = h.connect().send("PASS anything", "NICK alice", "USER a 0 * :A")
    assert "001" in numerics(c.take())


def test_server_password_never_appears_in_logs_or_replies(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h = Harness(auth=Auth(password="Tr0ub4dor"), accounts=store(("boss", "hunter2-hunter2", True)))
    wrong = h.connect().send("PASS Tr0ub4dor-not", "NICK a", "USER a 0 * :A")
    right = h.connect(secure=True).send("PASS Tr0ub4dor", "NICK b", "USER b 0 * :B")
    replies = bytes(wrong.client.out) + bytes(right.client.out)
    right.take()
    right.send("OPER boss wrong-one", "OPER boss hunter2-hunter2")
    replies += bytes(right.client.out)
    for secret in ("Tr0ub4dor", "hunter2", "wrong-one"):
        assert secret not in caplog.text
        assert secret.encode() not in replies
    assert "Tr0ub4dor" not in repr(h.core.settings)


# ----------------------------------------------------------------------------------- SASL


def test_cap_ls_302_offers_sasl_plain_and_older_clients_see_sasl() -> None:
    h = Harness()
    new = h.connect().send("CAP LS 302").take()[0]
    assert "sasl=PLAIN" in new.params[2].split()
    old = h.connect().send("CAP LS").take()[0]
    assert "sasl" in old.params[2].split()


def test_sasl_plain_over_tls_logs_in() -> None:
    h = Harness(accounts=store(("Alice", "correct horse", False)))
    c = h.connect(secure=True).send("CAP LS 302", "NICK alice", "USER a 0 * :A", "CAP REQ :sasl")
    c.take()
    c.send("AUTHENTICATE PLAIN")
    assert c.take() == [Message("AUTHENTICATE", ["+"], "chat.lan")]
    c.send(f"AUTHENTICATE {plain('alice', 'correct horse')}")
    msgs = c.take()
    assert numerics(msgs) == ["900", "903"]
    assert msgs[0].params[1:3] == ["alice!~a@192.168.1.10", "Alice"]
    assert c.client.account == "Alice" and not c.client.registered
    c.send("CAP END")
    assert "001" in numerics(c.take())


def test_sasl_without_tls_is_refused_with_a_hint() -> None:
    h = Harness(accounts=store(("alice", "correct horse", False)), tls=Tls(port=7000))
    c = h.connect().send("CAP LS 302", "CAP REQ :sasl")
    c.take()
    msgs = c.send("AUTHENTICATE PLAIN").take()
    assert numerics(msgs) == ["904"]
    assert "log in over TLS (port 7000)" in msgs[0].params[-1]
    assert c.client.account is None


def test_sasl_plaintext_allowed_by_config() -> None:
    h = Harness(accounts=store(("alice", "correct horse", False)), auth=Auth(sasl_plaintext=True))
    assert numerics(sasl_login(h.connect(), "alice", "correct horse")) == ["900", "903"]


def test_sasl_payload_in_400_byte_chunks() -> None:
    password = "p" * 600
    h = Harness(accounts=store(("alice", password, False)))
    c = h.connect(secure=True).send("CAP LS 302", "CAP REQ :sasl", "AUTHENTICATE PLAIN")
    c.take()
    encoded = plain("alice", password)
    chunks = [encoded[i : i + 400] for i in range(0, len(encoded), 400)]
    assert len(chunks[-1]) < 400
    for chunk in chunks[:-1]:
        assert c.send(f"AUTHENTICATE {chunk}").take() == []  # waiting for more
    assert numerics(c.send(f"AUTHENTICATE {chunks[-1]}").take()) == ["900", "903"]


def test_sasl_payload_of_exactly_400_bytes_ends_with_plus() -> None:
    # 300 raw bytes are exactly 400 base64 characters.
    password = "q" * (300 - len("\0alice\0"))
    h = Harness(accounts=store(("alice", password, False)))
    c = h.connect(secure=True).send("CAP LS 302", "CAP REQ :sasl", "AUTHENTICATE PLAIN")
    c.take()
    encoded = plain("alice", password)
    assert len(encoded) == 400
    assert c.send(f"AUTHENTICATE {encoded}").take() == []
    assert numerics(c.send("AUTHENTICATE +").take()) == ["900", "903"]


def test_sasl_errors_905_906_907_908() -> None:
    h = Harness(accounts=store(("alice", "correct horse", False)))
    c = h.connect(secure=True).send("CAP LS 302", "CAP REQ :sasl")
    c.take()
    assert numerics(c.send("AUTHENTICATE EXTERNAL").take()) == ["908", "904"]
    c.send("AUTHENTICATE PLAIN").take()
    assert numerics(c.send("AUTHENTICATE " + "A" * 401).take()) == ["905"]
    c.send("AUTHENTICATE PLAIN").take()
    assert numerics(c.send("AUTHENTICATE *").take()) == ["906"]
    c.send("AUTHENTICATE PLAIN").take()
    assert numerics(c.send("CAP END").take())[0] == "906"  # ending CAP aborts the exchange
    d = h.connect(secure=True)
    sasl_login(d, "alice", "correct horse")
    assert numerics(d.send("AUTHENTICATE PLAIN").take()) == ["907"]


def test_sasl_rejects_garbage_and_foreign_authzid() -> None:
    h = Harness(accounts=store(("alice", "correct horse", False), ("bob", "bobs password", False)))
    c = h.connect(secure=True).send("CAP LS 302", "CAP REQ :sasl", "AUTHENTICATE PLAIN")
    c.take()
    assert numerics(c.send("AUTHENTICATE not_base64!").take()) == ["904"]
    c.send("AUTHENTICATE PLAIN").take()
    assert numerics(c.send(f"AUTHENTICATE {plain('bob', 'bobs password', authzid='alice')}").take()) == ["904"]
    assert c.client.account is None and c.client.auth_failures == 0


def test_wrong_sasl_passwords_disconnect_after_three() -> None:
    h = Harness(accounts=store(("alice", "correct horse", False)))
    c = h.connect(secure=True)
    for attempt in (1, 2):
        msgs = sasl_login(c, "alice", f"guess {attempt}")
        assert numerics(msgs) == ["904"] and "wrong account name or password" in msgs[0].params[-1]
        assert not c.client.closing
    msgs = sasl_login(c, "alice", "guess 3")
    assert numerics(msgs) == ["904"]
    assert msgs[-1].command == "ERROR" and "Too many failed login attempts" in msgs[-1].params[0]
    assert c.client.closing


def test_unknown_account_fails_like_a_wrong_password() -> None:
    h = Harness(accounts=store())
    msgs = sasl_login(h.connect(secure=True), "nobody", "whatever")
    assert numerics(msgs) == ["904"] and "wrong account name or password" in msgs[0].params[-1]


def test_whois_shows_the_account() -> None:
    h = Harness(accounts=store(("alice", "correct horse", False)))
    a = h.connect(secure=True)
    sasl_login(a, "alice", "correct horse")
    a.send("NICK alice", "USER a 0 * :A", "CAP END").take()
    bob = h.user("bob")
    msgs = bob.send("WHOIS alice").take()
    whois_account = next(m for m in msgs if m.command == "330")
    assert whois_account.params[1:] == ["alice", "alice", "is logged in as"]
    assert "330" not in numerics(a.send("WHOIS bob").take())


# --------------------------------------------------------------------------- reserved nicks


def reserving(*accounts: tuple[str, str, bool]) -> Harness:
    return Harness(accounts=store(*accounts), auth=Auth(reserve_nicks=True))


def test_reserved_nick_refused_to_a_stranger_until_another_is_chosen() -> None:
    h = reserving(("Alice", "correct horse", False))
    stranger = h.connect().send("NICK alice", "USER s 0 * :S")
    msgs = stranger.take()
    assert numerics(msgs) == ["433"]
    assert msgs[0].params[1:] == ["alice", "is reserved for a registered user; log in to use it"]
    assert not stranger.client.registered
    # The owner can have it meanwhile: the stranger does not hold it while it picks another.
    owner = h.connect(secure=True)
    sasl_login(owner, "alice", "correct horse")
    assert "001" in numerics(owner.send("NICK alice", "USER a 0 * :A", "CAP END").take())
    assert "001" in numerics(stranger.send("NICK alice_").take())


def test_reserved_nick_checked_after_sasl_during_cap() -> None:
    h = reserving(("alice", "correct horse", False))
    owner = h.connect(secure=True).send("CAP LS 302", "NICK alice", "USER a 0 * :A")
    owner.take()
    sasl_login(owner, "alice", "correct horse")
    assert "001" in numerics(owner.send("CAP END").take())
    assert h.core.find_nick("alice") is owner.client


def test_reserved_nick_refused_on_nick_change() -> None:
    h = reserving(("alice", "correct horse", False))
    bob = h.user("bob")
    msgs = bob.send("NICK ALICE").take()
    assert numerics(msgs) == ["433"] and "reserved" in msgs[0].params[-1]
    assert bob.client.nick == "bob"


def test_nicks_are_not_reserved_unless_configured() -> None:
    h = Harness(accounts=store(("alice", "correct horse", False)))
    assert "001" in numerics(h.connect().send("NICK alice", "USER s 0 * :S").take())


def test_account_added_while_running_reserves_its_nick_at_once() -> None:
    accs = store()
    h = Harness(accounts=accs, auth=Auth(reserve_nicks=True))
    h.user("bob")
    accs.add("carol", "carols password")
    assert numerics(h.connect().send("NICK carol", "USER c 0 * :C").take()) == ["433"]


def test_unregistered_squatter_does_not_keep_the_owner_from_a_reserved_nick() -> None:
    h = reserving(("alice", "correct horse", False))
    squatter = h.connect().send("NICK alice")
    assert squatter.take() == []
    owner = h.connect(secure=True).send("CAP LS 302", "NICK alice", "USER a 0 * :A")
    assert "433" not in numerics(owner.take())
    sasl_login(owner, "alice", "correct horse")
    assert "001" in numerics(owner.send("CAP END").take())
    assert h.core.find_nick("alice") is owner.client
    msgs = squatter.send("USER s 0 * :S").take()
    assert numerics(msgs) == ["433"] and not squatter.client.registered


def test_squatter_without_the_server_password_does_not_hold_a_nick() -> None:
    h = Harness(auth=Auth(password="s3cret"))
    squatters = [h.connect().send(f"NICK nick{i}") for i in range(50)]
    squatters[0].send("NICK bob")
    assert all(s.take() == [] for s in squatters)
    bob = h.connect().send("PASS s3cret", "NICK bob", "USER b 0 * :B")
    assert "001" in numerics(bob.take())
    assert "001" in numerics(h.connect().send("PASS s3cret", "NICK nick7", "USER n 0 * :N").take())
    assert h.core.nicks.keys() == {"bob", "nick7"}  # only registered clients hold nicks


def test_two_unregistered_clients_with_one_nick_first_to_register_wins() -> None:
    h = Harness()
    slow = h.connect().send("CAP LS 302", "NICK bob", "USER s 0 * :S")
    fast = h.connect().send("NICK bob", "USER f 0 * :F")
    assert "001" in numerics(fast.take())
    slow.take()
    msgs = slow.send("CAP END").take()
    assert numerics(msgs) == ["433"] and msgs[0].params[1:] == ["bob", "Nickname is already in use"]
    assert "001" in numerics(slow.send("NICK bob_").take())


# ---------------------------------------------------------------------------- OPER / KILL


def oper_harness() -> Harness:
    return Harness(accounts=store(("boss", "boss password", True), ("pleb", "pleb password", False)))


def test_oper_with_an_operator_account_gives_mode_o_and_381() -> None:
    h = oper_harness()
    c = h.connect(secure=True).register("boss")
    msgs = c.send("OPER boss :boss password").take()
    assert [m.command for m in msgs] == ["MODE", "381"]
    assert msgs[0].params == ["boss", "+o"]
    assert "o" in c.client.modes
    assert "313" in numerics(h.user("x").send("WHOIS boss").take())


def test_oper_wrong_password_is_464_and_not_operator_account_is_491() -> None:
    h = oper_harness()
    c = h.connect(secure=True).register("someone")
    assert numerics(c.send("OPER boss :nope").take()) == ["464"]
    assert numerics(c.send("OPER nobody :nope").take()) == ["464"]
    assert numerics(c.send("OPER pleb :pleb password").take()) == ["491"]
    assert "o" not in c.client.modes


def test_oper_over_plain_connection_refused_unless_allowed() -> None:
    h = oper_harness()
    msgs = h.user("boss").send("OPER boss :boss password").take()
    assert numerics(msgs) == ["491"] and "TLS" in msgs[0].params[-1]


def test_oper_can_drop_mode_o() -> None:
    h = oper_harness()
    c = h.connect(secure=True).register("boss")
    c.send("OPER boss :boss password").take()
    c.send("MODE boss -o")
    assert "o" not in c.client.modes
    c.send("MODE boss +o")
    assert "o" not in c.client.modes


def test_kill_needs_operator(caplog: pytest.LogCaptureFixture) -> None:
    h = oper_harness()
    h.user("victim")
    assert numerics(h.user("mallory").send("KILL victim :bye").take()) == ["481"]


def test_kill_disconnects_and_rooms_see_quit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    h = oper_harness()
    boss = h.connect(secure=True).register("boss")
    boss.send("OPER boss :boss password").take()
    spammer = h.user("spammer")
    carol = h.user("carol")
    boss.take()
    assert numerics(boss.send("KILL nobody :x").take()) == ["401"]
    boss.send("KILL spammer :flooding the lobby")
    got = spammer.take()
    assert any(m.command == "KILL" for m in got)
    assert got[-1].command == "ERROR" and "Killed (boss (flooding the lobby))" in got[-1].params[0]
    assert spammer.client.closing and h.core.find_nick("spammer") is None
    quit_line = next(m for m in carol.take() if m.command == "QUIT")
    assert quit_line.prefix.startswith("spammer!") and quit_line.params == ["Killed (boss (flooding the lobby))"]
    assert "KILL: boss (oper boss) killed spammer" in caplog.text


# ------------------------------------------------------------------------------------- KICK


def test_kick_by_channel_operator_reaches_everyone_and_removes_the_target(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    h = Harness()
    alice = h.user("alice")  # first in #lobby: its operator
    bob = h.user("bob")
    carol = h.user("carol")
    alice.take()
    alice.send("KICK #lobby bob,carol :be nice")
    for who in (alice, bob, carol):
        kicks = [m for m in who.take() if m.command == "KICK"]
        assert kicks[0].params == ["#lobby", "bob", "be nice"] and kicks[0].prefix.startswith("alice!")
    lobby = h.core.find_channel("#lobby")
    assert lobby is not None and set(lobby.members) == {alice.client}
    assert not bob.client.channels
    assert "KICK: alice removed bob from #lobby: be nice" in caplog.text


def test_kick_errors_403_442_482_441() -> None:
    h = Harness()
    alice = h.user("alice")
    bob = h.user("bob")
    alice.send("JOIN #private").take()
    assert numerics(bob.send("KICK #nope alice").take()) == ["403"]
    assert numerics(bob.send("KICK #private alice").take()) == ["442"]
    assert numerics(bob.send("KICK #lobby alice").take()) == ["482"]
    assert numerics(alice.send("KICK #lobby nobody").take()) == ["441"]
    assert numerics(alice.send("KICK #private bob").take()) == ["441"]


def test_server_operator_may_kick_anywhere() -> None:
    h = oper_harness()
    h.user("alice").send("JOIN #den")
    boss = h.connect(secure=True).register("boss")
    boss.send("OPER boss :boss password").take()
    boss.send("KICK #den alice :closing the den")
    assert h.core.find_channel("#den") is None  # the last member left
    assert boss.take() == []  # not a member: does not see the KICK line


# ------------------------------------------------------- cost of password checks (scrypt)


class CountingStore(AccountStore):
    """Counts the scrypt runs, which are what stalls the server's loop."""

    def __init__(self) -> None:
        super().__init__(":memory:", params=FAST)
        self.scrypt_runs = 0

    def verify(self, name: str, password: str) -> Account | None:
        import chat.server.accounts as accounts_module

        real = accounts_module.verify_hash

        def counting(pw: str, stored: str) -> bool:
            self.scrypt_runs += 1
            return real(pw, stored)

        accounts_module.verify_hash = counting
        try:
            return super().verify(name, password)
        finally:
            accounts_module.verify_hash = real


def test_sasl_refused_without_the_server_password_and_no_scrypt_runs() -> None:
    accs = CountingStore()
    accs.add("alice", "correct horse")
    h = Harness(accounts=accs, auth=Auth(password="s3cret"))
    stranger = h.connect(secure=True).send("CAP LS 302", "CAP REQ :sasl")
    stranger.take()
    msgs = stranger.send("AUTHENTICATE PLAIN").take()
    assert numerics(msgs) == ["904"] and "send the server password (PASS) first" in msgs[0].params[-1]
    wrong = h.connect(secure=True).send("PASS nope", "CAP LS 302", "CAP REQ :sasl")
    wrong.take()
    assert numerics(wrong.send("AUTHENTICATE PLAIN").take()) == ["904"]
    assert accs.scrypt_runs == 0
    right = h.connect(secure=True).send("PASS s3cret")
    assert numerics(sasl_login(right, "alice", "correct horse")) == ["900", "903"]


def test_wrong_logins_from_one_address_are_throttled_without_scrypt() -> None:
    accs = CountingStore()
    accs.add("alice", "correct horse")
    h = Harness(accounts=accs)
    for _ in range(3):  # the burst: three wrong guesses get checked
        assert numerics(sasl_login(h.connect(secure=True), "alice", "guess")) == ["904"]
    assert accs.scrypt_runs == 3
    msgs = sasl_login(h.connect(secure=True), "alice", "correct horse")
    assert numerics(msgs) == ["904"]
    assert msgs[0].params[-1].endswith("too many failed logins from your address, try again in a moment")
    assert accs.scrypt_runs == 3  # refused before checking
    other = h.connect("192.168.1.77", secure=True)  # another address has its own budget
    assert numerics(sasl_login(other, "alice", "correct horse")) == ["900", "903"]
    h.advance(1.0)  # one more check per second
    assert numerics(sasl_login(h.connect(secure=True), "alice", "correct horse")) == ["900", "903"]


def test_an_ipv6_machine_has_one_budget_for_all_the_addresses_of_its_64() -> None:
    accs = CountingStore()
    accs.add("alice", "correct horse")
    h = Harness(accounts=accs)
    for n in range(3):  # a new privacy address for every guess
        assert numerics(sasl_login(h.connect(f"2001:db8::{n + 1}", secure=True), "alice", "guess")) == ["904"]
    msgs = sasl_login(h.connect("2001:db8::99", secure=True), "alice", "guess")
    assert "too many failed logins" in msgs[0].params[-1] and accs.scrypt_runs == 3


def test_unknown_account_costs_a_scrypt_run_and_counts_against_the_budget() -> None:
    accs = CountingStore()
    h = Harness(accounts=accs)
    for _ in range(3):
        assert numerics(sasl_login(h.connect(secure=True), "nobody", "whatever")) == ["904"]
    assert accs.scrypt_runs == 3
    msgs = sasl_login(h.connect(secure=True), "nobody", "whatever")
    assert "too many failed logins" in msgs[0].params[-1] and accs.scrypt_runs == 3


def test_cached_successful_logins_are_not_throttled_and_cost_no_scrypt() -> None:
    accs = CountingStore()
    accs.add("alice", "correct horse")
    h = Harness(accounts=accs)
    for _ in range(20):
        assert numerics(sasl_login(h.connect(secure=True), "alice", "correct horse")) == ["900", "903"]
    assert accs.scrypt_runs == 1


def test_oper_guesses_share_the_address_budget() -> None:
    h = oper_harness()
    for i in range(3):
        assert numerics(h.connect(secure=True).register(f"guess{i}").send("OPER boss :nope").take()) == ["464"]
    msgs = h.connect(secure=True).register("late").send("OPER boss :boss password").take()
    assert numerics(msgs) == ["491"] and "too many failed logins" in msgs[0].params[-1]


# ------------------------------------------------------------ KICK / KILL reasons on the wire

LONG_NICK = "op_with_a_thirty_char_nick_xxx"
HOSTILE_REASON = "\x1b[2J\x07" + "A" * 485


def stock_reader_lines(data: bytes) -> list[bytes]:
    """What our own client's LineReader makes of ``data``: every item must be a line."""
    items = LineReader(512, MAX_CLIENT_TAGS).feed(data)
    assert not any(isinstance(item, LineTooLong) for item in items)
    return [item for item in items if isinstance(item, bytes)]


def test_kick_reason_is_cleaned_and_the_line_fits() -> None:
    h = Harness()
    op = h.connect().register(LONG_NICK)
    op.send("JOIN #r").take()
    victim = h.user("victim")
    victim.send("JOIN #r").take()
    op.take()
    op.send(f"KICK #r victim :{HOSTILE_REASON}")
    for line in stock_reader_lines(bytes(victim.client.out)):
        assert len(line) + 2 <= 512 and b"\x1b" not in line and b"\x07" not in line
    kick = next(m for m in victim.take() if m.command == "KICK")
    assert kick.params[2].startswith("[2JAAAA")


def test_kill_reason_is_cleaned_and_the_quit_and_error_lines_fit() -> None:
    h = oper_harness()
    boss = h.connect(secure=True).register(LONG_NICK)
    boss.send("OPER boss :boss password").take()
    victim = h.connect("10.0.0.2").register("victim_with_long_nick_xxxxx")
    watcher = h.user("watcher")
    watcher.take()
    boss.send(f"KILL victim_with_long_nick_xxxxx :\x1b[31m{'B' * 470}")
    for out in (bytes(watcher.client.out), bytes(victim.client.out)):
        for line in stock_reader_lines(out):
            assert len(line) + 2 <= 512 and b"\x1b" not in line
    assert any(m.command == "QUIT" for m in watcher.take())
    assert victim.take()[-1].command == "ERROR"


def test_disconnect_makes_any_reason_safe() -> None:
    h = Harness()
    victim = h.user("victim")
    watcher = h.user("watcher")
    watcher.take()
    h.core.disconnect(victim.client, "bad\r\nPRIVMSG #lobby :injected\x1b" + "x" * 600)
    for out in (bytes(watcher.client.out), bytes(victim.client.out)):
        lines = stock_reader_lines(out)
        assert lines and all(len(line) + 2 <= 512 and b"\x1b" not in line for line in lines)
        assert not any(b"PRIVMSG" in line.split(b" ")[1:2] for line in lines)


@pytest.mark.parametrize("revoke", ["remove", "unflag", "replace"])
def test_operator_rights_end_when_the_account_loses_them(revoke: str) -> None:
    accs = store(("boss", "boss password", True))
    h = Harness(accounts=accs)
    boss = h.connect(secure=True).register("boss")
    boss.send("OPER boss :boss password").take()
    h.user("victim").send("JOIN #den")
    boss.take()
    if revoke == "unflag":
        accs.set_oper("boss", False)
    else:
        accs.remove("boss")
        if revoke == "replace":
            accs.add("boss", "a new password", oper=False)
    msgs = boss.send("KILL victim :bye").take()
    assert [m.command for m in msgs] == ["MODE", "481"] and msgs[0].params == ["boss", "-o"]
    assert "o" not in boss.client.modes and h.core.find_nick("victim") is not None
    assert numerics(boss.send("KICK #den victim :bye").take()) == ["442"]
