#!/usr/bin/env python3
"""Tables the criterion results of `cargo bench --bench verify`: per cell the
median time, and its ratio to the floor of the same run (raw_verify_parsed_key,
same algorithm). Given several result directories (one per run: copy
target/criterion after each), it prints the median over the runs of each
time and of each ratio.

    python3 scripts/bench_ratios.py [CRITERION_DIR ...]   (default: target/criterion)
"""
import json
import pathlib
import statistics
import sys

roots = [pathlib.Path(p) for p in sys.argv[1:]] or [pathlib.Path("target/criterion")]
BENCHES = ["raw_verify_parsed_key", "raw_verify_reparse_key", "jsonwebtoken_decode",
           "reauth_cold", "reauth_cold_max_age", "reauth_warm", "reauth_warm_max_age"]


def median_ns(root, alg, bench):
    f = root / alg / bench / "new" / "estimates.json"
    return json.loads(f.read_text())["median"]["point_estimate"] if f.exists() else None


print(f"{len(roots)} run(s); time = median over runs; ratio = median over runs of (time / floor of that run)\n")
print(f"| alg | {' | '.join(BENCHES)} |")
print("|---" * (len(BENCHES) + 1) + "|")
speedups = []
for alg in ["RS256", "PS256", "ES256", "EdDSA"]:
    cells = []
    for b in BENCHES:
        times, ratios = [], []
        for r in roots:
            m, floor = median_ns(r, alg, b), median_ns(r, alg, "raw_verify_parsed_key")
            if m is not None and floor:
                times.append(m)
                ratios.append(m / floor)
        cells.append("-" if not times else
                     f"{statistics.median(times) / 1000:.2f} µs ({statistics.median(ratios):.2f}×)")
    print(f"| {alg} | {' | '.join(cells)} |")
for r in roots:
    cold, warm = median_ns(r, "RS256", "reauth_cold"), median_ns(r, "RS256", "reauth_warm")
    if cold and warm:
        speedups.append(cold / warm)
if speedups:
    print(f"\nRS256: warm is {statistics.median(speedups):.0f}× faster than cold (median over runs)")
