"""The accounts store: hash format, checks, the verification cache, and sharing the file with the CLI."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from chat.server import accounts as accounts_module
from chat.server.accounts import AccountError, AccountStore, ScryptParams, hash_password, verify_hash

FAST = ScryptParams(n=2**10)


def test_hash_format_carries_its_parameters_and_a_random_salt() -> None:
    first = hash_password("correct horse")
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(base64.b64decode(salt + "==")) == 16 and len(base64.b64decode(digest + "=")) == 32
    assert "correct horse" not in first
    assert hash_password("correct horse") != first  # new salt every time
    assert verify_hash("correct horse", first)
    assert not verify_hash("correct horsE", first)


def test_old_parameters_keep_working_after_the_default_changes() -> None:
    stored = hash_password("pw-pw-pw", ScryptParams(n=2**11, r=4, p=2))
    assert stored.startswith("scrypt$2048$4$2$")
    assert verify_hash("pw-pw-pw", stored)


@pytest.mark.parametrize(
    "stored", ["", "bcrypt$x", "scrypt$1$8$1$AA$AA", "scrypt$abc$8$1$AA$AA", "scrypt$16384$8$1$!$!"]
)
def test_unreadable_hash_never_matches(stored: str) -> None:
    assert not verify_hash("anything", stored)


def test_add_get_verify_wrong_password_and_duplicates() -> None:
    store = AccountStore.in_memory(params=FAST)
    store.add("Alice", "correct horse", oper=True)
    account = store.get("ALICE")
    assert account is not None and account.name == "Alice" and account.oper
    assert store.verify("alice", "correct horse") == account
    assert store.verify("alice", "wrong") is None
    assert store.verify("nobody", "correct horse") is None
    with pytest.raises(AccountError, match="already exists"):
        store.add("aLiCe", "other password")
    with pytest.raises(AccountError, match="no account"):
        store.remove("nobody")


def test_successful_verification_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    store = AccountStore.in_memory(params=FAST)
    store.add("alice", "correct horse")
    calls: list[str] = []
    real = accounts_module.verify_hash

    def counting(password: str, stored: str) -> bool:
        calls.append(password)
        return real(password, stored)

    monkeypatch.setattr(accounts_module, "verify_hash", counting)
    assert store.verify("alice", "correct horse") is not None
    assert store.verify("alice", "correct horse") is not None
    assert len(calls) == 1  # the second login cost no scrypt run
    assert store.verify("alice", "wrong horse") is None  # a wrong one is never answered from the cache
    assert len(calls) == 2


def test_cache_invalidated_by_a_password_change_from_another_process(tmp_path: Path) -> None:
    path = tmp_path / "accounts.sqlite3"
    server = AccountStore(path, params=FAST)
    cli = AccountStore(path, params=FAST)
    cli.add("alice", "old password")
    assert server.verify("alice", "old password") is not None  # now cached
    cli.set_password("alice", "new password")
    assert server.verify("alice", "old password") is None
    assert server.verify("alice", "new password") is not None


def test_removal_is_seen_by_the_running_server(tmp_path: Path) -> None:
    path = tmp_path / "accounts.sqlite3"
    server = AccountStore(path, params=FAST)
    cli = AccountStore(path, params=FAST)
    cli.add("alice", "correct horse")
    assert server.verify("alice", "correct horse") is not None
    assert server.exists("alice")
    cli.remove("alice")
    assert server.verify("alice", "correct horse") is None
    assert not server.exists("alice")
    cli.add("bob", "bobs password")
    assert [a.name for a in server.all()] == ["bob"]


def test_oper_flag_can_change() -> None:
    store = AccountStore.in_memory(params=FAST)
    store.add("alice", "correct horse")
    store.set_oper("alice", True)
    account = store.get("alice")
    assert account is not None and account.oper
