"""``chat cert``, ``chat trust`` and the server's start-up checks of tls.cert and tls.key."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from chat.cli import app
from chat.config import load_settings
from chat.server.certificate import default_names, write_pair
from chat.server.loop import ServerError, ServerLoop, serve

runner = CliRunner()


def settings_for(tmp_path: Path, tls: str) -> object:
    config = tmp_path / "chat.yaml"
    config.write_text(
        f"server:\n  port: 0\n  host: 127.0.0.1\n  data_dir: {tmp_path / 'data'}\n"
        f"history:\n  store: memory\ntls:\n{tls}",
        encoding="utf-8",
    )
    return load_settings(config)


def test_chat_cert_writes_a_pair_and_says_what_to_add(tmp_path: Path) -> None:
    result = runner.invoke(app, ["cert", "--data-dir", str(tmp_path / "data"), "--name", "chat.example"])
    assert result.exit_code == 0, result.output
    cert_path, key_path = tmp_path / "data" / "tls" / "cert.pem", tmp_path / "data" / "tls" / "key.pem"
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert cert_path.stat().st_mode & 0o022 == 0  # nobody else may change it
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    listed = {str(n.value) for n in names}
    assert {"localhost", "127.0.0.1", "::1", "chat.example"} <= listed
    assert set(default_names()) <= listed
    years = (cert.not_valid_after_utc - cert.not_valid_before_utc).days / 365
    assert 9.9 < years < 10.1
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    from chat.fingerprint import fingerprint

    assert f"fingerprint: {fingerprint(der)}" in result.stdout
    assert "tls:\n  cert: tls/cert.pem\n  key: tls/key.pem\n" in result.stdout
    assert "chat connect --tls" in result.stdout


def test_chat_cert_uses_the_config_files_data_dir_and_refuses_to_overwrite(tmp_path: Path) -> None:
    config = tmp_path / "chat.yaml"
    config.write_text(f"server:\n  data_dir: {tmp_path / 'elsewhere'}\n", encoding="utf-8")
    assert runner.invoke(app, ["cert", "--config", str(config)], env={"CHAT_DATA_DIR": None}).exit_code == 0
    cert_path = tmp_path / "elsewhere" / "tls" / "cert.pem"
    before = cert_path.read_bytes()
    again = runner.invoke(app, ["cert", "--config", str(config)], env={"CHAT_DATA_DIR": None})
    assert again.exit_code == 2
    assert "already exists" in again.stderr and "--force" in again.stderr and "Traceback" not in again.output
    assert cert_path.read_bytes() == before
    forced = runner.invoke(app, ["cert", "--config", str(config), "--force"], env={"CHAT_DATA_DIR": None})
    assert forced.exit_code == 0 and cert_path.read_bytes() != before


def test_the_server_starts_with_a_made_pair_and_knows_its_fingerprint(tmp_path: Path) -> None:
    made = write_pair(tmp_path / "data" / "tls", ["localhost"])
    settings = settings_for(tmp_path, "  cert: tls/cert.pem\n  key: tls/key.pem\n  port: 0\n")
    loop = ServerLoop(settings)  # type: ignore[arg-type]
    try:
        bound = loop.listen()
        assert [b.tls for b in bound] == [False, True]
        assert loop.tls is not None and loop.tls.fingerprint == made.fingerprint
    finally:
        for sock in loop.listeners:
            sock.close()


def bad_start(tmp_path: Path, tls: str) -> str:
    loop = ServerLoop(settings_for(tmp_path, tls))  # type: ignore[arg-type]
    with pytest.raises(ServerError) as failed:
        loop.listen()
    assert not loop.listeners  # nothing bound before the certificate was checked
    return str(failed.value)


def test_a_missing_certificate_names_tls_cert(tmp_path: Path) -> None:
    message = bad_start(tmp_path, "  cert: tls/cert.pem\n  key: tls/key.pem\n")
    assert message == f"tls.cert: {tmp_path / 'data' / 'tls' / 'cert.pem'}: no such file (make a pair with: chat cert)"


def test_a_missing_key_names_tls_key(tmp_path: Path) -> None:
    write_pair(tmp_path / "data" / "tls", ["localhost"])
    message = bad_start(tmp_path, "  cert: tls/cert.pem\n  key: tls/nokey.pem\n")
    assert message.startswith("tls.key: ") and "nokey.pem: no such file" in message


def test_a_key_of_another_certificate_is_named(tmp_path: Path) -> None:
    write_pair(tmp_path / "data" / "one", ["localhost"])
    write_pair(tmp_path / "data" / "two", ["localhost"])
    message = bad_start(tmp_path, "  cert: one/cert.pem\n  key: two/key.pem\n")
    assert message.startswith("tls.key: ") and "does not belong to the certificate in tls.cert" in message


def test_files_that_are_not_pem_are_named(tmp_path: Path) -> None:
    write_pair(tmp_path / "data" / "tls", ["localhost"])
    (tmp_path / "data" / "junk.pem").write_text("not a certificate\n", encoding="utf-8")
    assert bad_start(tmp_path, "  cert: junk.pem\n  key: tls/key.pem\n").startswith("tls.cert: ")
    assert "not a usable PEM private key" in bad_start(tmp_path, "  cert: tls/cert.pem\n  key: junk.pem\n")


def test_an_unreadable_key_is_named(tmp_path: Path) -> None:
    key = write_pair(tmp_path / "data" / "tls", ["localhost"]).key
    key.chmod(0)
    try:
        if os.access(key, os.R_OK):
            pytest.skip("running as root: file permissions are not enforced")
        message = bad_start(tmp_path, "  cert: tls/cert.pem\n  key: tls/key.pem\n")
        assert message == f"tls.key: {key}: permission denied (the server's user needs to read it)"
    finally:
        key.chmod(0o600)


def test_serve_exits_2_with_the_message_on_a_bad_certificate(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, "  cert: tls/cert.pem\n  key: tls/key.pem\n")
    assert serve(settings) == 2  # type: ignore[arg-type]
    assert any(r.levelname == "ERROR" and r.getMessage().startswith("tls.cert: ") for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)


def test_chat_trust_lists_and_forgets(tmp_path: Path) -> None:
    from chat.client.pins import KnownServers
    from chat.fingerprint import fingerprint

    path = tmp_path / "known"
    env = {"CHAT_KNOWN_SERVERS": str(path)}
    empty = runner.invoke(app, ["trust"], env=env)
    assert empty.exit_code == 0 and "no TLS certificates remembered yet" in empty.stdout
    KnownServers(path).remember("chat.lan:6697", fingerprint(b"x"))
    listed = runner.invoke(app, ["trust"], env=env)
    assert "chat.lan:6697" in listed.stdout and fingerprint(b"x") in listed.stdout
    gone = runner.invoke(app, ["trust", "--forget", "ircs://chat.lan"], env=env)
    assert gone.exit_code == 0 and "forgot" in gone.stdout
    assert KnownServers(path).entries() == {}
    again = runner.invoke(app, ["trust", "--forget", "chat.lan:6697"], env=env)
    assert again.exit_code == 1 and "no certificate remembered for chat.lan:6697" in again.stderr


def test_chat_trust_lists_and_forgets_a_server_pinned_by_its_lan_name(tmp_path: Path) -> None:
    from chat.client.pins import KnownServers
    from chat.fingerprint import fingerprint

    path = tmp_path / "known"
    env = {"CHAT_KNOWN_SERVERS": str(path)}
    KnownServers(path).remember_all(["mdns:office%20chat", "mdns:lab"], fingerprint(b"x"))
    listed = runner.invoke(app, ["trust"], env=env)
    assert "mdns:office%20chat" in listed.stdout and "mdns:lab" in listed.stdout
    assert runner.invoke(app, ["trust", "--forget", "mdns:office%20chat"], env=env).exit_code == 0
    assert runner.invoke(app, ["trust", "--forget", "mdns:Lab"], env=env).exit_code == 0  # as announced
    assert KnownServers(path).entries() == {}


def test_connect_refuses_a_malformed_fingerprint_as_a_usage_error() -> None:
    result = runner.invoke(app, ["connect", "chat.lan", "--fingerprint", "SHA256:nope"])
    assert result.exit_code == 2 and "--fingerprint" in result.stderr and "Traceback" not in result.output


def test_chat_cert_names_the_configured_tls_port(tmp_path: Path) -> None:
    config = tmp_path / "chat.yaml"
    config.write_text(f"server:\n  data_dir: {tmp_path / 'data'}\ntls:\n  port: 7697\n", encoding="utf-8")
    result = runner.invoke(app, ["cert", "--config", str(config)], env={"CHAT_DATA_DIR": None})
    assert result.exit_code == 0, result.output
    assert "chat connect --tls <address> (port 7697)" in result.stdout
    assert "6697" not in result.stdout


def test_chat_cert_force_says_what_replacing_means(tmp_path: Path) -> None:
    config = tmp_path / "chat.yaml"
    config.write_text(
        f"server:\n  data_dir: {tmp_path / 'data'}\ntls:\n  cert: tls/cert.pem\n  key: tls/key.pem\n  port: 7697\n",
        encoding="utf-8",
    )
    env = {"CHAT_DATA_DIR": None}
    first = runner.invoke(app, ["cert", "--config", str(config)], env=env)
    assert first.exit_code == 0, first.output
    from chat.fingerprint import fingerprint

    cert_path = tmp_path / "data" / "tls" / "cert.pem"
    old_print = fingerprint(ssl.PEM_cert_to_DER_cert(cert_path.read_text()))
    forced = runner.invoke(app, ["cert", "--config", str(config), "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    new_print = fingerprint(ssl.PEM_cert_to_DER_cert(cert_path.read_text()))
    out = forced.stdout
    assert new_print != old_print and f"fingerprint: {new_print}" in out and old_print in out
    assert "restart it to use the new one" in out
    assert "will refuse the new one" in out
    assert "chat trust --forget HOST:7697" in out
    assert f"--fingerprint {new_print}" in out
    assert "first TLS connection" not in out and "To turn TLS on" not in out  # not first-install text


def test_chat_cert_makes_the_data_dir_and_tls_dir_private(tmp_path: Path) -> None:
    """Run before the first chat serve (the README's order), it makes the directories the server
    would have made 0700; the server leaves existing directories as they are."""
    old_umask = os.umask(0o022)
    try:
        data = tmp_path / "new" / "data"
        result = runner.invoke(app, ["cert", "--data-dir", str(data)])
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    assert (data.stat().st_mode & 0o777, (data / "tls").stat().st_mode & 0o777) == (0o700, 0o700)
