#!/usr/bin/env python3
"""Prints the criterion results of `cargo bench --bench verify` as a table of
medians and ratios against the floor measured in the same run
(raw_verify_parsed_key of the same algorithm)."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
BENCHES = ["raw_verify_parsed_key", "raw_verify_reparse_key", "jsonwebtoken_decode",
           "reauth_cold", "reauth_cold_max_age", "reauth_warm", "reauth_warm_max_age"]


def median_ns(alg, bench):
    f = root / alg / bench / "new" / "estimates.json"
    if not f.exists():
        return None
    return json.loads(f.read_text())["median"]["point_estimate"]


print(f"| alg | {' | '.join(BENCHES)} |")
print("|---" * (len(BENCHES) + 1) + "|")
for alg in ["RS256", "PS256", "ES256", "EdDSA"]:
    floor = median_ns(alg, "raw_verify_parsed_key")
    if floor is None:
        continue
    cells = []
    for b in BENCHES:
        m = median_ns(alg, b)
        cells.append("-" if m is None else f"{m / 1000:.2f} µs ({m / floor:.3f}×)")
    print(f"| {alg} | {' | '.join(cells)} |")
cold = median_ns("RS256", "reauth_cold")
warm = median_ns("RS256", "reauth_warm")
if cold and warm:
    print(f"\nRS256 warm is {cold / warm:.1f}× faster than cold")
