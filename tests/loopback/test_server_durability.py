"""What the server promises about a crash: anything it acknowledged is still there after SIGKILL."""

from __future__ import annotations

from tests.helpers.irc_peer import Peer
from tests.helpers.server_process import ServerProcess

CAPS = "batch echo-message labeled-response message-tags server-time draft/chathistory"


def history(peer: Peer, target: str = "#lobby") -> list[tuple[str, str]]:
    """(msgid, text) of every message the server has for ``target``."""
    peer.send(f"CHATHISTORY LATEST {target} * 1000")
    start = peer.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+"))
    ref = start.params[0][1:]
    found = []
    while True:
        msg = peer.expect(lambda m: m.tags.get("batch") == ref or m.params[:1] == ["-" + ref])
        if msg.command == "BATCH":
            return found
        found.append((msg.tags["msgid"], msg.params[-1]))


def test_acknowledged_messages_survive_sigkill(server: ServerProcess) -> None:
    alice = Peer(server.host, server.port).register("alice", CAPS)
    for i in range(200):
        alice.send(f"@+chat/cid=c{i} PRIVMSG #lobby :message {i}")
    echoes = [alice.expect(lambda m: m.command == "PRIVMSG") for _ in range(200)]
    server.kill()  # the instant the last acknowledgement arrived
    server.start()
    again = Peer(server.host, server.port).register("alice", CAPS)
    stored = history(again)
    assert [text for _, text in stored] == [f"message {i}" for i in range(200)]
    assert [msgid for msgid, _ in stored] == [e.tags["msgid"] for e in echoes]


def test_a_resend_after_restart_is_stored_once_and_keeps_its_msgid(server: ServerProcess) -> None:
    alice = Peer(server.host, server.port).register("alice", CAPS)
    alice.send("@+chat/cid=only-once PRIVMSG #lobby :exactly once")
    first = alice.expect_command("PRIVMSG")
    server.kill()
    server.start()
    alice = Peer(server.host, server.port).register("alice", CAPS)
    watcher = Peer(server.host, server.port).register("watcher", CAPS)
    alice.send("@+chat/cid=only-once PRIVMSG #lobby :exactly once")  # the client never saw the echo
    second = alice.expect_command("PRIVMSG")
    assert second.tags["msgid"] == first.tags["msgid"]
    assert history(watcher) == [(first.tags["msgid"], "exactly once")]
    live = [m for m in watcher.received if m.command == "PRIVMSG" and "batch" not in m.tags]
    assert live == []  # the resend was not broadcast again


def test_memory_history_is_a_throwaway(server: ServerProcess) -> None:
    throwaway = ServerProcess(server.data_dir.parent / "mem", extra_args=("--history", "memory")).start()
    try:
        alice = Peer(throwaway.host, throwaway.port).register("alice", CAPS)
        alice.send("PRIVMSG #lobby :gone after restart")
        alice.expect_command("PRIVMSG")
        assert [t for _, t in history(alice)] == ["gone after restart"]
        throwaway.kill()
        throwaway.start()
        again = Peer(throwaway.host, throwaway.port).register("alice", CAPS)
        assert history(again) == []
        assert not (server.data_dir.parent / "mem" / "history.sqlite3").exists()
    finally:
        throwaway.stop()
