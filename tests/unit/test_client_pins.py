"""The known-servers store, the pin check, fingerprints as people type them, and ircs:// addresses."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from chat.client import pins
from chat.client.address import parse_server
from chat.fingerprint import fingerprint, normalize

CERT_A = b"certificate A (DER bytes in real life)"
CERT_B = b"certificate B"


@pytest.fixture
def store(tmp_path: Path) -> pins.KnownServers:
    return pins.KnownServers(tmp_path / "conf" / "known_servers")


def test_fingerprint_is_sha256_in_colon_separated_pairs() -> None:
    printed = fingerprint(CERT_A)
    assert printed.startswith("SHA256:") and len(printed) == len("SHA256:") + 95
    assert printed.replace("SHA256:", "").replace(":", "").lower() == hashlib.sha256(CERT_A).hexdigest()


@pytest.mark.parametrize(
    "typed",
    [
        lambda f: f,
        lambda f: f.lower(),
        lambda f: f.replace("SHA256:", ""),
        lambda f: f.replace("SHA256:", "").replace(":", ""),
        lambda f: "sha256 Fingerprint=" + f.replace("SHA256:", ""),  # openssl x509 -fingerprint -sha256
        lambda f: "  " + f.replace(":", " ").replace("SHA256 ", "SHA256:") + "\n",
    ],
)
def test_normalize_accepts_what_people_paste(typed: object) -> None:
    canonical = fingerprint(CERT_A)
    assert normalize(typed(canonical)) == canonical  # type: ignore[operator]


@pytest.mark.parametrize("junk", ["", "SHA256:AB:CD", "MD5:" + "00" * 16, "zz" * 32])
def test_normalize_refuses_junk_in_words(junk: str) -> None:
    with pytest.raises(ValueError, match="not a SHA-256 fingerprint"):
        normalize(junk)


def test_the_store_remembers_forgets_and_lists(store: pins.KnownServers) -> None:
    assert store.entries() == {} and not store.path.exists()
    store.remember("chat.lan:6697", fingerprint(CERT_A))
    store.remember("[fd00::1]:6697", fingerprint(CERT_B))
    assert pins.KnownServers(store.path).entries() == {
        "chat.lan:6697": fingerprint(CERT_A),
        "[fd00::1]:6697": fingerprint(CERT_B),
    }
    assert store.forget("chat.lan:6697") and not store.forget("chat.lan:6697")
    assert store.entries() == {"[fd00::1]:6697": fingerprint(CERT_B)}
    assert not store.path.with_name("known_servers.tmp").exists()


def test_damaged_lines_and_comments_pin_nothing(store: pins.KnownServers) -> None:
    store.path.parent.mkdir(parents=True)
    good = fingerprint(CERT_A)
    store.path.write_text(f"# comment\n\nhalf-a-line\nbad:1 SHA256:nothex\nok:6697 {good}\n", encoding="utf-8")
    assert store.entries() == {"ok:6697": good}


def test_an_unreadable_store_is_an_error_not_an_empty_one(store: pins.KnownServers) -> None:
    store.path.mkdir(parents=True)  # a directory cannot be read as a file
    with pytest.raises(pins.UnreadablePins, match="cannot read the remembered TLS certificates"):
        store.entries()


def test_the_path_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAT_KNOWN_SERVERS", str(tmp_path / "pins"))
    assert pins.known_servers_path() == tmp_path / "pins"
    monkeypatch.delenv("CHAT_KNOWN_SERVERS")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert pins.known_servers_path() == tmp_path / "xdg" / "chat" / "known_servers"


def test_first_use_pins_and_then_only_that_certificate_passes(store: pins.KnownServers) -> None:
    first = pins.verify(store, "Chat.LAN", 6697, CERT_A)
    assert first == pins.Verdict(fingerprint(CERT_A), pinned_now=True)
    assert store.entries() == {"chat.lan:6697": fingerprint(CERT_A)}
    assert pins.verify(store, "chat.lan", 6697, CERT_A) == pins.Verdict(fingerprint(CERT_A), pinned_now=False)
    with pytest.raises(pins.PinMismatch) as refused:
        pins.verify(store, "chat.lan", 6697, CERT_B)
    assert (refused.value.expected, refused.value.got, refused.value.given) == (
        fingerprint(CERT_A),
        fingerprint(CERT_B),
        False,
    )
    assert "chat trust --forget chat.lan:6697" in str(refused.value)
    assert store.get("chat.lan:6697") == fingerprint(CERT_A)  # a refusal never replaces the pin
    # Another port of the same host is another server.
    assert pins.verify(store, "chat.lan", 7000, CERT_B).pinned_now


def test_a_given_fingerprint_wins_and_replaces_the_pin_once_it_matches(store: pins.KnownServers) -> None:
    pins.verify(store, "chat.lan", 6697, CERT_A)
    with pytest.raises(pins.PinMismatch) as refused:
        pins.verify(store, "chat.lan", 6697, CERT_A, expected=fingerprint(CERT_B))
    assert refused.value.given and "--fingerprint" in str(refused.value)
    accepted = pins.verify(store, "chat.lan", 6697, CERT_B, expected=fingerprint(CERT_B))
    assert accepted.pinned_now and store.get("chat.lan:6697") == fingerprint(CERT_B)
    assert accepted.given and accepted.replaced == fingerprint(CERT_A)  # so the user is told the old pin went
    again = pins.verify(store, "chat.lan", 6697, CERT_B, expected=fingerprint(CERT_B))
    assert (again.pinned_now, again.replaced) == (False, None)
    fresh = pins.verify(store, "other.lan", 6697, CERT_B, expected=fingerprint(CERT_B))
    assert fresh.pinned_now and fresh.given and fresh.replaced is None


def test_a_health_check_does_not_pin(store: pins.KnownServers) -> None:
    assert pins.verify(store, "chat.lan", 6697, CERT_A, pin=False).pinned_now
    assert store.entries() == {}


@pytest.mark.parametrize(
    ("typed", "tls", "expected"),
    [
        ("chat.lan", False, ("chat.lan", 6667, False)),
        ("chat.lan", True, ("chat.lan", 6697, True)),
        ("ircs://chat.lan", False, ("chat.lan", 6697, True)),
        ("ircs://chat.lan:7000/", False, ("chat.lan", 7000, True)),
        ("IRCS://[::1]", False, ("::1", 6697, True)),
        ("irc://chat.lan", False, ("chat.lan", 6667, False)),
        ("10.0.0.5:6697", True, ("10.0.0.5", 6697, True)),
    ],
)
def test_parse_server(typed: str, tls: bool, expected: tuple[str, int, bool]) -> None:
    assert parse_server(typed, tls=tls) == expected


@pytest.mark.parametrize(("typed", "tls"), [("irc://chat.lan", True), ("https://chat.lan", False)])
def test_parse_server_refuses_contradictions(typed: str, tls: bool) -> None:
    with pytest.raises(ValueError, match="irc"):
        parse_server(typed, tls=tls)


def test_clients_pinning_at_once_keep_every_pin(store: pins.KnownServers) -> None:
    """Each change re-reads the file under a lock: no client's pin is overwritten by another's."""
    import threading

    keys = [f"host{i}.lan:6697" for i in range(40)]
    start = threading.Barrier(len(keys))

    def pin(key: str) -> None:
        start.wait()
        store.remember(key, fingerprint(CERT_A))

    threads = [threading.Thread(target=pin, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(store.entries()) == sorted(keys)
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["known_servers", "known_servers.lock"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    store: pins.KnownServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new file reaches the disk (fsync) before it replaces the old one; if it cannot, the
    old one stays as it was."""
    store.remember("chat.lan:6697", fingerprint(CERT_A))
    before = store.path.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pins.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        store.remember("other.lan:6697", fingerprint(CERT_B))
    assert store.path.read_bytes() == before
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_pin_saved_meanwhile_by_another_client_is_checked_not_overwritten(
    store: pins.KnownServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clients see a server for the first time at once, and get different certificates."""
    store.remember("chat.lan:6697", fingerprint(CERT_A))
    monkeypatch.setattr(store, "get", lambda key: None)  # read before the other client saved
    with pytest.raises(pins.PinMismatch):
        pins.verify(store, "chat.lan", 6697, CERT_B)
    assert store.entries() == {"chat.lan:6697": fingerprint(CERT_A)}
