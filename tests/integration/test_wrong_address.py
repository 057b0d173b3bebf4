"""A client pointed at a machine where no server runs: plain words, retries, or a clean exit."""

from __future__ import annotations

import time

from tests.integration.lab import Lab
from tests.integration.timings import record_timing

ADDRESS = "emptyhost:6667"


def test_wrong_address_is_reported_in_plain_words(lab: Lab) -> None:
    lab.idle_host("emptyhost")
    start = time.monotonic()
    retrying = lab.chat_client("lost", ADDRESS, "sleep 600")
    giving_up = lab.chat_client("quitter", ADDRESS, "sleep 600", "--no-retry")

    assert giving_up.wait_exit(30) != 0, giving_up.output()
    record_timing("wrong address", "--no-retry client gave up", time.monotonic() - start)
    said = giving_up.stderr()
    assert ADDRESS in said and "refused" in said, giving_up.output()

    # Backoff starts at 1 s and doubles, so the third attempt comes a few seconds in.
    retrying.wait_until_count("connecting", 3)
    assert retrying.status() == "running", retrying.output()
    reasons = [e["reason"] for e in retrying.events() if e.get("type") == "disconnected"]
    assert reasons, retrying.output()
    assert all(ADDRESS in r and "refused" in r for r in reasons), reasons

    for node in (retrying, giving_up):
        text = node.stdout() + node.stderr()
        assert "Traceback" not in text and "Errno" not in text, node.output()
