"""A short run of the loopback fuzzer (bench/fuzz.py) against a real server process: a few
thousand hostile inputs, and the server must still be alive, answer a fresh client, have passed
every message of the well-behaved pair in order, and have logged no traceback.
`make fuzz` runs the same for longer."""

from __future__ import annotations

from bench.fuzz import run


def test_server_survives_garbage_and_keeps_serving_the_well_behaved() -> None:
    result = run(inputs=5000, seconds=15.0, seed=7)
    print(result.summary())
    assert result.ok, "\n".join(result.problems)
    assert result.connections > 50 and result.messages >= 1
    assert len(result.kinds) == 5  # every kind of attacker had its turn
