"""The ``chat`` command as a user types it: version, help, and clean failures without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import chat
from chat.cli import app, nick_from_username

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"chat {chat.__version__}\n"
    assert chat.__version__ == "0.1.0"


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "connect", "status", "gui"):
        assert command in result.stdout


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "serve" in result.output
    assert "connect" in result.output


def test_serve_help_names_the_environment_variables() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for text in ("--config", "--port", "CHAT_PORT", "--data-dir", "CHAT_DATA_DIR", "--log-level"):
        assert text in result.stdout


def test_serve_with_a_bad_config_prints_the_key_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "lan.yaml"
    config.write_text("server:\n  prot: 7000\n", encoding="utf-8")
    result = runner.invoke(app, ["serve", "--config", str(config)], env={"CHAT_PORT": None})
    assert result.exit_code == 2
    assert result.stderr == f'{config}: server.prot: unknown key (did you mean "port"?)\n'
    assert "Traceback" not in result.output


def test_serve_with_a_missing_config(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nope.yaml'}: no such file\n"


def test_serve_with_a_bad_environment_variable_names_it() -> None:
    result = runner.invoke(app, ["serve"], env={"CHAT_PORT": "abc"})
    assert result.exit_code == 2
    assert result.stderr == 'CHAT_PORT: expected an integer 0–65535, got "abc"\n'


def test_serve_with_an_out_of_range_port_option() -> None:
    result = runner.invoke(app, ["serve", "--port", "70000"], env={"CHAT_PORT": None})
    assert result.exit_code == 2
    assert result.stderr == "--port: expected an integer 0–65535, got 70000\n"


def test_connect_rejects_an_invalid_nick_before_connecting() -> None:
    result = runner.invoke(app, ["connect", "localhost:1", "--nick", "two words"])
    assert result.exit_code == 2
    assert result.stderr.startswith('--nick: "two words" is not a valid nick')


def test_gui_rejects_a_bad_address_or_nick_before_opening_a_window() -> None:
    result = runner.invoke(app, ["gui", "host:notaport"])
    assert result.exit_code == 2 and "bad port" in result.stderr
    result = runner.invoke(app, ["gui", "host", "--nick", "two words"])
    assert result.exit_code == 2 and '"two words" is not a valid nick' in result.stderr


def test_gui_checks_its_login_options_before_opening_a_window(tmp_path: Path) -> None:
    result = runner.invoke(app, ["gui", "host", "--account", "two words"])
    assert result.exit_code == 2 and '--account: "two words" is not a valid account name' in result.stderr
    result = runner.invoke(app, ["gui", "host", "--password-file", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "--password-file: cannot read" in result.stderr


def test_gui_prefills_the_login_from_a_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat.client import gui

    seen: dict[str, object] = {}
    monkeypatch.setattr(gui, "run", lambda *args, **options: seen.update(options) or 0)
    secret = tmp_path / "server-password"
    secret.write_text("lan-party-2026\nignored\n")
    env = {"CHAT_ACCOUNT_PASSWORD": "correct horse battery", "CHAT_SERVER_PASSWORD": "not this one"}
    result = runner.invoke(app, ["gui", "host", "--password-file", str(secret), "--account", "alice"], env=env)
    assert result.exit_code == 0, result.stderr
    assert seen["login"] == gui.Login("lan-party-2026", "alice", "correct horse battery")
    assert "lan-party" not in repr(seen["login"]) and "horse" not in repr(seen["login"])


def test_gui_takes_a_fingerprint_like_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's changed-certificate warning names ``chat gui --fingerprint``: it must exist."""
    from chat.client import gui

    seen: dict[str, object] = {}
    monkeypatch.setattr(gui, "run", lambda *args, **options: seen.update(options) or 0)
    given = "sha256:" + "ab" * 32
    result = runner.invoke(app, ["gui", "host", "-n", "alice", "--fingerprint", given])
    assert result.exit_code == 0, result.output
    assert seen["fingerprint"] == "SHA256:" + ":".join(["AB"] * 32)
    assert seen["tls"] is True  # a certificate's fingerprint means TLS, as with connect
    result = runner.invoke(app, ["gui", "host", "--fingerprint", "nonsense"])
    assert result.exit_code == 2 and "--fingerprint" in result.stderr


@pytest.mark.parametrize("command", ["connect", "gui"])
def test_plaintext_login_is_off_unless_asked_for(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chat.client import gui, terminal

    seen: list[object] = []
    for module in (gui, terminal):
        monkeypatch.setattr(module, "run", lambda *args, **options: seen.append(options["plaintext_login"]) or 0)
    assert runner.invoke(app, [command, "host", "-n", "alice"]).exit_code == 0
    assert runner.invoke(app, [command, "host", "-n", "alice", "--plaintext-login"]).exit_code == 0
    assert seen == [False, True]


def test_gui_without_a_display_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    result = runner.invoke(app, ["gui", "localhost:1", "--nick", "alice"])
    assert result.exit_code == 1
    assert "cannot open a window" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("login", "nick"),
    [
        ("alice", "alice"),
        ("john.doe", "john_doe"),
        ("Jean-Luc", "Jean-Luc"),
        ("first last", "first_last"),
        ("1337", "_1337"),
        ("-dash", "_-dash"),
        ("x" * 40, "x" * 30),
        ("王", "guest"),
        ("", "guest"),
    ],
)
def test_default_nick_follows_the_login_name(login: str, nick: str) -> None:
    assert nick_from_username(login) == nick


def test_python_dash_m_chat_in_a_real_process(tmp_path: Path) -> None:
    version = subprocess.run(
        [sys.executable, "-m", "chat", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (version.returncode, version.stdout) == (0, f"chat {chat.__version__}\n")

    config = tmp_path / "lan.yaml"
    config.write_text("server:\n  port: [1\n", encoding="utf-8")
    serve = subprocess.run(
        [sys.executable, "-m", "chat", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert serve.returncode == 2
    assert serve.stderr.startswith(f"{config}: line 3, column 1: invalid YAML: ")
    assert "Traceback" not in serve.stderr
