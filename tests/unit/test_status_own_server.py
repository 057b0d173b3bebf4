"""``chat status --config``: where the check looks, derived from the server's own settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chat.cli import app
from chat.client.status import own_server
from chat.config import Settings, Tls

runner = CliRunner()
TLS_ON = Tls(cert=Path("/d/tls/cert.pem"), key=Path("/d/tls/key.pem"), port=7697)


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0.0.0.0", "127.0.0.1:7667"), ("::", "[::1]:7667"), ("10.0.0.5", "10.0.0.5:7667"), ("::1", "[::1]:7667")],
)
def test_a_wildcard_listener_is_checked_on_loopback(host: str, expected: str) -> None:
    assert own_server(Settings(host=host, port=7667)) == (expected, False)


def test_the_plain_port_while_it_is_open_the_tls_port_when_required_or_asked() -> None:
    assert own_server(Settings(port=7667, tls=TLS_ON)) == ("127.0.0.1:7667", False)
    assert own_server(Settings(port=7667, tls=TLS_ON), tls=True) == ("127.0.0.1:7697", True)
    required = Tls(cert=TLS_ON.cert, key=TLS_ON.key, port=7697, require=True)
    assert own_server(Settings(port=7667, tls=required)) == ("127.0.0.1:7697", True)


def test_what_cannot_be_checked_is_said_plainly() -> None:
    with pytest.raises(ValueError, match=r"server\.port is 0"):
        own_server(Settings(port=0))
    with pytest.raises(ValueError, match=r"no tls\.cert and tls\.key"):
        own_server(Settings(), tls=True)


def test_status_needs_an_address_or_config_but_not_both(tmp_path: Path) -> None:
    neither = runner.invoke(app, ["status"])
    assert neither.exit_code == 2 and "give the server's address, or --config" in neither.stderr
    config = tmp_path / "chat.yaml"
    config.write_text("server:\n  port: 7667\n", encoding="utf-8")
    both = runner.invoke(app, ["status", "127.0.0.1", "--config", str(config)])
    assert both.exit_code == 2 and "not both" in both.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  prot: 7000\n", encoding="utf-8")
    typo = runner.invoke(app, ["status", "--config", str(bad)], env={"CHAT_PORT": None})
    assert typo.exit_code == 2 and "server.prot: unknown key" in typo.stderr


def test_the_image_and_compose_health_checks_read_the_servers_settings() -> None:
    """Any mounted config (a password, tls.require, another port) keeps the container healthy."""

    root = Path(__file__).resolve().parents[2]
    check = "chat status --timeout 4 --config /etc/chat/chat.yaml"
    dockerfile = (root / "Dockerfile").read_text(encoding="utf-8")
    assert "CMD chat status" in dockerfile and check in dockerfile
    assert '"--config", "/etc/chat/chat.yaml"]' in dockerfile  # the file the server itself reads
    services = yaml.safe_load((root / "compose.yaml").read_text(encoding="utf-8"))["services"]
    for name, service in services.items():
        assert check in service["healthcheck"]["test"][1], name
        assert any(v.endswith(":/etc/chat/chat.yaml:ro") for v in service["volumes"]), name
