#!/usr/bin/env python3
"""The best disjoint selection of the candidates `marketref bench matching --emit-candidates`
wrote, by an exact integer-programming solver (HiGHS, through SciPy), to check the figures of
BENCHMARKS.md's "Optimal selection" section. Not part of the tests; needs `pip install scipy`.

usage: selection_optimum.py CANDIDATES.json [--objective score|intents] [--time-limit S]
                            [--selection SELECTION.json]

Prints one JSON line: the LP relaxation's value, the MIP's best value and whether it is proven
optimal (within --mip-rel-gap, HiGHS's default 1e-4 unless given), the seconds each took, and with --selection (a file from --emit-selection) that
selection's value, whether it is disjoint, and how far below the MIP's value it is.
"""

import argparse
import json
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix


def value_of(proposals, objective):
    if objective == "score":
        return round(sum(p["confidence_score"] for p in proposals), 4)
    return sum(len(p["intent_ids"]) for p in proposals)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("candidates")
    parser.add_argument("--objective", choices=["score", "intents"], default="score")
    parser.add_argument("--time-limit", type=float, default=300.0)
    # HiGHS's default: the MIP is "optimal" when proven within 0.01% of its bound.
    parser.add_argument("--mip-rel-gap", type=float, default=1e-4)
    parser.add_argument("--selection")
    args = parser.parse_args()

    with open(args.candidates) as f:
        candidates = json.load(f)
    intent_row = {}
    rows, cols = [], []
    for column, candidate in enumerate(candidates):
        for intent in candidate["intent_ids"]:
            rows.append(intent_row.setdefault(intent, len(intent_row)))
            cols.append(column)
    # One row per intent: the candidates holding it sum to at most 1.
    matrix = csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(intent_row), len(candidates))
    )
    if args.objective == "score":
        weights = np.array([c["confidence_score"] for c in candidates])
    else:
        weights = np.array([float(len(c["intent_ids"])) for c in candidates])

    started = time.time()
    lp = linprog(-weights, A_ub=matrix, b_ub=np.ones(len(intent_row)), bounds=(0, 1), method="highs")
    lp_seconds = time.time() - started
    started = time.time()
    mip = milp(
        -weights,
        constraints=LinearConstraint(matrix, -np.inf, 1),
        integrality=np.ones(len(candidates)),
        bounds=Bounds(0, 1),
        options={"time_limit": args.time_limit, "mip_rel_gap": args.mip_rel_gap},
    )
    mip_seconds = time.time() - started

    report = {
        "candidates": len(candidates),
        "objective": args.objective,
        "lp": round(-lp.fun, 4),
        "lp_seconds": round(lp_seconds, 2),
        "mip": round(-mip.fun, 4) if mip.x is not None else None,
        "mip_proven_optimal": mip.status == 0,
        "mip_rel_gap": args.mip_rel_gap,
        "mip_seconds": round(mip_seconds, 2),
    }
    if args.selection:
        with open(args.selection) as f:
            selection = json.load(f)
        used = [i for p in selection for i in p["intent_ids"]]
        value = value_of(selection, args.objective)
        report["selection"] = value
        report["selection_disjoint"] = len(used) == len(set(used))
        if report["mip"]:
            report["selection_below_mip_pct"] = round(100 * (report["mip"] - value) / report["mip"], 3)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
