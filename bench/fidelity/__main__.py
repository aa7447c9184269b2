"""``python -m bench.fidelity``: play the rounds and print the table."""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

import cmdb
import discovery
from bench.fidelity.harness import Harness
from bench.fidelity.score import RoundScore

HEADER = (f"{'round':>5} {'things':>6} {'CIs':>6} {'recall':>7} {'precis':>7} {'dup':>4} {'unflg':>5} "
          f"{'2-in-1':>6} {'rel rec':>7} {'rel pre':>7} {'wrong':>5} {'missed':>6} {'rej':>5} {'oracle':>9}  sources")


def line(score: RoundScore, order: list[str]) -> str:
    return (f"{score.round:>5} {score.things:>6} {score.cis:>6} {score.recall:>7.2%} {score.precision:>7.2%} "
            f"{score.duplicates:>4} {score.unflagged:>5} {score.two_things:>6} {score.rel_recall:>7.2%} "
            f"{score.rel_precision:>7.2%} {score.wrong_retired:>5} {score.missed_retired:>6} "
            f"{score.rejected:>5} {f'{score.unmapped}/{score.unplaced}/{score.unaccounted}':>9}  {','.join(order)}")


def meets_target(score: RoundScore) -> bool:
    return (score.two_things == 0 and score.unflagged == 0 and score.wrong_retired == 0
            and min(score.recall, score.precision, score.rel_recall, score.rel_precision) >= 0.995)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--scale", type=float, default=1.0, help="estate size factor (1.0: ~2,300 things)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--examples", action="store_true", help="print a few examples of each error per round")
    args = parser.parse_args()
    started, cpu = time.perf_counter(), time.process_time()
    harness = Harness(seed=args.seed, scale=args.scale)
    kinds = Counter(t.kind for t in harness.estate.things.values())
    print(f"estate: {len(harness.estate.things)} real things at round 1 ({dict(sorted(kinds.items()))}); "
          f"seed {args.seed}; store {harness.path}; {os.cpu_count()} CPUs")
    # Which engine and scanners are measured (PYTHONPATH decides; run with python -P to keep the cwd out).
    print(f"engine: {Path(cmdb.__file__).parent}; scanners: {Path(discovery.__file__).parent}")
    print(HEADER)
    passed = 0
    for rnd in range(1, args.rounds + 1):
        score = harness.play(rnd)
        print(line(score, harness.order[-1]), flush=True)
        passed += meets_target(score)
        if args.examples:
            for event in harness.estate.events.get(rnd, []):
                print(f"        churn: {event}")
            for kind, texts in score.examples.items():
                for text in texts:
                    print(f"        {kind}: {text}")
    harness.close()
    problems = ("no CI of its own", "unflagged duplicate", "shares a CI", "wrongly retired", "not retired")
    print("\nper case of the issue: things involved (a host case only where the host has no other one),"
          " and how many had each problem in some round")
    print(f"{'case':<48} {'things':>6} " + " ".join(f"{p:>19}" for p in problems))
    for case in sorted(harness.estate.cases):
        seen = harness.estate.clean(case) & harness.observed
        had = harness.case_problems.get(case, {})
        print(f"{case:<48} {len(seen):>6} " + " ".join(f"{len(had.get(p, ())):>19}" for p in problems))
    print(f"target met in {passed} of {args.rounds} rounds; {len(harness.estate.things)} real things over the run; "
          f"wall {time.perf_counter() - started:.0f} s, CPU {time.process_time() - cpu:.0f} s")


if __name__ == "__main__":
    main()
