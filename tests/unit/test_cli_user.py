"""``chat user ...``: accounts managed from the command line, in the data dir ``chat serve`` uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chat.cli import app
from chat.server.accounts import AccountStore

runner = CliRunner()


def user(*args: str, stdin: str = "", env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["user", *args], input=stdin, env={"CHAT_DATA_DIR": None, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_add_list_passwd_remove(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert user("add", "Alice", "--oper", "--password-stdin", "--data-dir", data, stdin="correct horse\n")[0] == 0
    assert user("add", "bob", "--password-stdin", "--data-dir", data, stdin="bobs password\n")[0] == 0
    code, out, _ = user("list", "--data-dir", data)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"accounts in {tmp_path / 'data' / 'accounts.sqlite3'}:"
    assert lines[1].split() == ["name", "oper", "created"]
    assert lines[2].split()[:2] == ["Alice", "yes"] and lines[3].split()[:2] == ["bob", "no"]
    store = AccountStore(tmp_path / "data" / "accounts.sqlite3")
    assert store.verify("alice", "correct horse") is not None
    assert user("passwd", "alice", "--password-stdin", "--data-dir", data, stdin="battery staple\n")[0] == 0
    assert store.verify("alice", "correct horse") is None
    assert store.verify("alice", "battery staple") is not None
    assert user("remove", "ALICE", "--data-dir", data)[0] == 0
    assert not store.exists("alice")


def test_every_change_names_the_accounts_file_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config the file is ./data/accounts.sqlite3: say so, or an account made in the
    wrong directory is silently invisible to the server."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data" / "accounts.sqlite3"
    code, out, _ = user("add", "erin", "--password-stdin", stdin="erins password\n")
    assert code == 0
    assert out == f"added account erin to {path} — the server must use the same data_dir\n"
    assert user("passwd", "erin", "--password-stdin", stdin="new password!\n")[1] == (
        f"changed the password of erin in {path}\n"
    )
    assert user("list")[1].startswith(f"accounts in {path}:\n")
    assert user("remove", "erin")[1] == f"removed account erin from {path}\n"
    assert user("list")[1] == f"no accounts yet in {path} (add one with: chat user add NAME)\n"


def test_data_dir_from_the_environment_and_from_the_config(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    code, _, _ = user(
        "add", "carol", "--password-stdin", stdin="carols password\n", env={"CHAT_DATA_DIR": str(env_dir)}
    )
    assert code == 0 and (env_dir / "accounts.sqlite3").exists()
    config = tmp_path / "lan.yaml"
    config.write_text(f"server:\n  data_dir: {tmp_path / 'conf'}\n", encoding="utf-8")
    assert user("add", "dave", "--password-stdin", "--config", str(config), stdin="daves password\n")[0] == 0
    assert (tmp_path / "conf" / "accounts.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "1bad"], "", "cannot be an account name"),
        (["add", "eve", "--password-stdin"], "short\n", "at least 8 characters"),
        (["passwd", "nobody", "--password-stdin"], "long enough\n", 'there is no account named "nobody"'),
        (["remove", "nobody"], "", 'there is no account named "nobody"'),
    ],
)
def test_mistakes_are_explained(tmp_path: Path, args: list[str], stdin: str, message: str) -> None:
    code, _, err = user(*args, "--data-dir", str(tmp_path), stdin=stdin)
    assert code != 0 and message in err and "Traceback" not in err


def test_duplicate_name_is_refused_case_insensitively(tmp_path: Path) -> None:
    data = str(tmp_path)
    user("add", "alice", "--password-stdin", "--data-dir", data, stdin="correct horse\n")
    code, _, err = user("add", "ALICE", "--password-stdin", "--data-dir", data, stdin="other password\n")
    assert code == 1 and "already exists" in err


def test_prompted_passwords_must_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["correct horse", "correct hose"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = user("add", "alice", "--data-dir", str(tmp_path))
    assert code == 1 and "do not match" in err
    assert not AccountStore(tmp_path / "accounts.sqlite3").exists("alice")


def test_list_when_empty(tmp_path: Path) -> None:
    code, out, _ = user("list", "--data-dir", str(tmp_path))
    assert code == 0 and "no accounts yet" in out
