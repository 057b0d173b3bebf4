"""``make bench``: every scenario against every server, interleaved, in one run.

Each scenario runs ``--rounds`` times; within a round the servers take turns (in a rotating
order, so none always runs first on a warm or cold machine), each freshly started. The median of
the rounds is reported per server, with the ratio of ours to each peer. Every result is one JSON
line on stdout; a table follows at the end, and everything is saved to ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import peers as peer_servers
from bench.loadgen import raise_fd_limit
from bench.scenarios import Result, Scenario, all_scenarios

RESULTS = Path(__file__).with_name("results.json")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}, Python {platform.python_version()}"


def median(values: list[Any]) -> Any:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v)]
    if numbers:
        return statistics.median(numbers)
    if values and all(isinstance(v, bool) for v in values):
        return any(values)
    return float("nan")


def run_scenario(scenario: Scenario, names: list[str], rounds: int) -> dict[str, Result]:
    runs: dict[str, list[Result]] = {name: [] for name in names}
    for round_number in range(rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in order:
            peer = peer_servers.start(name)
            try:
                result = scenario.run(peer)
            except Exception as exc:  # a peer that falls over is a result too, not the end of the run
                result = {"error": f"{exc.__class__.__name__}: {exc}"}
            finally:
                peer.stop()
            runs[name].append(result)
            print(json.dumps({"scenario": scenario.key, "server": name, "round": round_number + 1, **result}),
                  flush=True)  # fmt: skip
    summary: dict[str, Result] = {}
    for name, results in runs.items():
        keys = {k for r in results for k in r}
        summary[name] = {k: median([r.get(k, float("nan")) for r in results]) for k in sorted(keys)}
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            summary[name]["error"] = errors[0]
    return summary


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def ratio(ours: Any, theirs: Any, higher_is_better: bool) -> str:
    """How many times better ours is (>1 means better), whichever way the metric points."""
    if not all(isinstance(v, int | float) and v and not math.isnan(v) for v in (ours, theirs)):
        return "–"
    value = ours / theirs if higher_is_better else theirs / ours
    return f"{value:.2f}×"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round, shorter runs, smaller capacity steps")
    parser.add_argument("--only", default="", help="comma-separated scenario keys or prefixes (e.g. paced,max-500)")
    parser.add_argument("--peers", default=",".join(peer_servers.PEERS), help="servers to run")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    raise_fd_limit()
    usable = peer_servers.ensure_installed(args.peers.split(","))
    wanted = [w for w in args.only.split(",") if w]
    scenarios = [s for s in all_scenarios(args.quick) if not wanted or any(s.key.startswith(w) for w in wanted)]
    print(f"# {machine()}; {rounds} round(s) per scenario; servers: {', '.join(usable)}", flush=True)
    started = time.monotonic()
    table: list[tuple[Scenario, dict[str, Result]]] = []
    for scenario in scenarios:
        names = [n for n in scenario.peers if n in usable]
        if not names:
            continue
        summary = run_scenario(scenario, names, rounds)
        table.append((scenario, summary))
        ours = summary.get("chat", {}).get(scenario.main)
        line = {"scenario": scenario.key, "median": summary}
        line["ratios"] = {
            name: ratio(ours, s.get(scenario.main), scenario.higher_is_better)
            for name, s in summary.items()
            if name != "chat"
        }
        print(json.dumps(line), flush=True)
    print_table(table)
    RESULTS.write_text(
        json.dumps({"machine": machine(), "rounds": rounds, "results": {s.key: summ for s, summ in table}}, indent=1)
    )
    print(f"# {time.monotonic() - started:.0f} s; saved to {RESULTS}")
    return 0


def print_table(table: list[tuple[Scenario, dict[str, Result]]]) -> None:
    print()
    print("| scenario | metric | chat | chat (memory) | ngIRCd | miniircd | chat vs ngIRCd | chat vs miniircd |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario, summary in table:
        metrics = [scenario.main] + [
            k for k in ("loss", "p50_ms", "cpu_us_per_line", "kb_per_conn", "failed") if k in summary.get("chat", {})
        ]
        for metric in metrics:
            cells = [fmt(summary.get(name, {}).get(metric, float("nan"))) for name in peer_servers.PEERS]
            higher = scenario.higher_is_better if metric == scenario.main else False
            ours = summary.get("chat", {}).get(metric)
            versus = [ratio(ours, summary.get(n, {}).get(metric), higher) for n in ("ngircd", "miniircd")]
            if metric == "loss":
                versus = ["", ""]
            print(f"| {scenario.title} | {metric} | " + " | ".join(cells + versus) + " |")
    for scenario, summary in table:
        for name, values in summary.items():
            if values.get("generator_saturated") is True:
                print(
                    f"note: {scenario.key} on {name}: the load generator used a whole core — this number is its limit"
                )
            if "error" in values:
                print(f"note: {scenario.key} on {name}: {values['error']}")


if __name__ == "__main__":
    sys.exit(main())
