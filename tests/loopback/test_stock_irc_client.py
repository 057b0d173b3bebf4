"""A stock IRC client (the ``irc`` library from PyPI, no IRCv3) works with our server."""

from __future__ import annotations

from tests.helpers.irc_peer import Peer
from tests.helpers.server_process import ServerProcess
from tests.helpers.stock_client import StockClient


def test_stock_client_registers_joins_and_exchanges_messages(server: ServerProcess) -> None:
    stock = StockClient(server.host, server.port, "stocky")
    stock.wait_for(lambda e: e.type == "welcome")
    stock.wait_for(lambda e: e.type == "join" and e.target == "#lobby")
    peer = Peer(server.host, server.port).register("modern", caps="message-tags server-time echo-message")
    stock.conn.privmsg("#lobby", "hello from a stock client")
    got = peer.expect(lambda m: m.command == "PRIVMSG" and m.nick == "stocky")
    assert got.params == ["#lobby", "hello from a stock client"]
    peer.send("@+chat/cid=1 PRIVMSG #lobby :and back, with tags the stock client never asked for")
    event = stock.wait_for(lambda e: e.type == "pubmsg")
    assert event.source.nick == "modern"
    assert event.arguments == ["and back, with tags the stock client never asked for"]
    stock.conn.privmsg("modern", "private")
    assert peer.expect(lambda m: m.command == "PRIVMSG" and m.params[0] == "modern").params[1] == "private"
    stock.close()
