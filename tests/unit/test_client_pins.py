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


# ------------------------------------------------------------------ servers found on the LAN by name


def test_the_name_key_is_one_lower_case_word_that_forget_accepts_as_listed_or_as_announced() -> None:
    assert pins.name_key("Office chat") == "mdns:office%20chat"
    assert pins.name_key("50% off\tchat.") == "mdns:50%25%20off%09chat"
    assert pins.name_key("Büro") == "mdns:büro"  # readable in `chat trust`, not escaped
    assert pins.parse_key("mdns:office%20chat") == pins.parse_key("MDNS:Office chat") == "mdns:office%20chat"
    assert pins.parse_key("Chat.LAN:6697") == "chat.lan:6697"
    with pytest.raises(ValueError):
        pins.parse_key("chat.lan:notaport")


def test_a_name_with_spaces_is_stored_and_read_back_as_one_line(store: pins.KnownServers) -> None:
    pins.verify(store, "192.168.1.20", 6697, CERT_A, name="Office chat")
    assert store.entries() == {"mdns:office%20chat": fingerprint(CERT_A), "192.168.1.20:6697": fingerprint(CERT_A)}
    assert "mdns:office%20chat " + fingerprint(CERT_A) in store.path.read_text(encoding="utf-8").splitlines()
    assert store.forget(pins.parse_key("mdns:Office chat"))
    assert store.entries() == {"192.168.1.20:6697": fingerprint(CERT_A)}


def test_the_same_certificate_under_the_name_at_a_new_address_is_accepted_and_pinned_there(
    store: pins.KnownServers,
) -> None:
    first = pins.verify(store, "192.168.1.20", 6697, CERT_A, name="Office chat")
    assert first.pinned_now
    moved = pins.verify(store, "192.168.1.31", 6697, CERT_A, name="Office chat")
    assert moved == pins.Verdict(fingerprint(CERT_A), pinned_now=False)  # no "first connection" to compare
    assert store.get("192.168.1.31:6697") == fingerprint(CERT_A)
    # Even where another server was pinned before (DHCP gave it the address): the name vouches.
    store.remember("192.168.1.40:6697", fingerprint(CERT_B))
    assert not pins.verify(store, "192.168.1.40", 6697, CERT_A, name="office chat").pinned_now
    assert store.get("192.168.1.40:6697") == fingerprint(CERT_A)


def test_another_certificate_under_the_name_is_refused_at_any_address(store: pins.KnownServers) -> None:
    pins.verify(store, "192.168.1.20", 6697, CERT_A, name="Office chat")
    before = store.entries()
    with pytest.raises(pins.PinMismatch) as refused:
        pins.verify(store, "192.168.1.31", 6697, CERT_B, name="Office chat")
    bad = refused.value
    assert (bad.expected, bad.got, bad.given) == (fingerprint(CERT_A), fingerprint(CERT_B), False)
    assert bad.name == "Office chat"
    assert bad.address == "192.168.1.31:6697"
    warning = str(bad)
    assert 'announced on the LAN as "Office chat" (now at 192.168.1.31:6697) has CHANGED' in warning
    assert "chat trust --forget mdns:office%20chat" in warning
    assert store.entries() == before  # nothing pinned at the attacker's address
    # A typed address (no name) is still checked by address only, as before.
    assert pins.verify(store, "192.168.1.31", 6697, CERT_B).pinned_now


def test_a_server_pinned_by_address_before_names_were_gets_its_name_pinned_quietly(store: pins.KnownServers) -> None:
    store.remember("192.168.1.20:6697", fingerprint(CERT_A))
    assert not pins.verify(store, "192.168.1.20", 6697, CERT_A, name="Office chat").pinned_now
    assert store.get("mdns:office%20chat") == fingerprint(CERT_A)
    with pytest.raises(pins.PinMismatch) as refused:  # its address pin still refuses another certificate
        pins.verify(store, "192.168.1.20", 6697, CERT_B, name="Other chat")
    assert refused.value.name == "" and store.get("mdns:other%20chat") is None


def test_a_given_fingerprint_replaces_the_name_pin_too(store: pins.KnownServers) -> None:
    pins.verify(store, "192.168.1.20", 6697, CERT_A, name="Office chat")
    accepted = pins.verify(store, "192.168.1.31", 6697, CERT_B, expected=fingerprint(CERT_B), name="Office chat")
    assert accepted.pinned_now and accepted.given and accepted.replaced == fingerprint(CERT_A)
    assert store.get("mdns:office%20chat") == store.get("192.168.1.31:6697") == fingerprint(CERT_B)


def test_a_health_check_by_name_does_not_pin(store: pins.KnownServers) -> None:
    assert pins.verify(store, "192.168.1.20", 6697, CERT_A, pin=False, name="Office chat").pinned_now
    assert store.entries() == {}


def test_a_window_warning_for_a_name_says_to_pick_it_again() -> None:
    text = pins.changed_warning("10.0.0.5:6697", "SHA256:A", "SHA256:B", Path("/k"), window=True, name="Lab's chat")
    assert "chat trust --forget 'mdns:lab'\"'\"'s%20chat'" in text and "pick it again" in text


def test_a_pin_that_vouched_is_enough_when_the_other_key_cannot_be_saved(
    store: pins.KnownServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    pins.verify(store, "192.168.1.20", 6697, CERT_A, name="Office chat")
    store.remember("192.168.1.50:6697", fingerprint(CERT_A))

    def read_only(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store, "_write", read_only)
    assert not pins.verify(store, "192.168.1.31", 6697, CERT_A, name="Office chat").pinned_now  # by name
    assert not pins.verify(store, "192.168.1.50", 6697, CERT_A, name="Lab").pinned_now  # by address
    with pytest.raises(PermissionError):  # a true first use must be saved, or nothing is ever checked
        pins.verify(store, "192.168.1.60", 6697, CERT_A, name="New")
