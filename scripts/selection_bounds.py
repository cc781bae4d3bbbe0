#!/usr/bin/env python3
"""How tight an upper bound on the best disjoint selection can be, and what it costs, on the
candidates `marketref bench matching --emit-candidates` wrote. Backs BENCHMARKS.md's "Why the
100k gap target is not met". Not part of the tests; needs `pip install scipy highspy`.

usage: selection_bounds.py CANDIDATES.json [--cut-rounds N] [--odd-cycles] [--rings L]
                           [--root] [--time-limit S]

Prints one JSON line with, for objective score:
- lp, lp_seconds: the LP relaxation (one row per intent) by HiGHS's dual simplex;
- lp_triples: the LP with one clique row per intent triple (all candidates inside three
  intents pairwise share one, yet no single intent holds them all);
- lp_pair_cliques: the LP with the rows the reference runtime's selection uses
  (src/domain/swap/selection/rows.rs): for every triangle of intent pairs, the candidates
  holding two of its three intents, at most one; with --rings L, then rounds of odd-ring rows
  (rings of 5..L intents whose pairs carry the LP solution; at most (|S| - 1) / 2 of the
  candidates holding two of the ring's intents);
- lp_cliques: the LP after rounds of greedy maximal-clique separation on the conflict graph
  (and, with --odd-cycles, odd-cycle rows by shortest paths in the bipartite double cover);
- root_bound, root_seconds (--root): HiGHS's MIP dual bound after its root node, presolve and
  all its cut separators included, and the best selection it had then.
"""

import argparse
import heapq
import itertools
import json
import time
from collections import defaultdict

import highspy
import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack


def load(path):
    with open(path) as f:
        candidates = json.load(f)
    row = {}
    items = []
    for candidate in candidates:
        items.append(tuple(sorted(row.setdefault(i, len(row)) for i in candidate["intent_ids"])))
    weights = np.array([c["confidence_score"] for c in candidates])
    return items, weights, len(row)


def intent_matrix(items, intents):
    rows = [i for item in items for i in item]
    cols = [j for j, item in enumerate(items) for _ in item]
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(intents, len(items)))


def lp_value(weights, base, extra_rows, extra_rhs):
    """The LP over the intent rows plus `extra_rows` (lists of columns) with `extra_rhs`."""
    matrix, rhs = base, np.ones(base.shape[0])
    if extra_rows:
        rows = [r for r, cols in enumerate(extra_rows) for _ in cols]
        cols = [c for cols in extra_rows for c in cols]
        extra = csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(extra_rows), base.shape[1]))
        matrix, rhs = vstack([base, extra]), np.concatenate([rhs, np.array(extra_rhs)])
    lp = linprog(-weights, A_ub=matrix, b_ub=rhs, bounds=(0, 1), method="highs")
    return -lp.fun, lp.x


def triple_cliques(items):
    """For every intent triple that some candidate spans (a 3-intent candidate, or three 2-intent
    candidates around a triangle): the candidates inside it, when no one intent holds them all."""
    by_set = defaultdict(list)
    for j, item in enumerate(items):
        by_set[item].append(j)
    triples = {item for item in items if len(item) == 3}
    partners = defaultdict(set)
    for item in items:
        if len(item) == 2:
            a, b = item
            partners[a].add(b)
            partners[b].add(a)
    for item in list(by_set):
        if len(item) == 2:
            a, b = item
            triples.update(tuple(sorted((a, b, c))) for c in partners[a] & partners[b])
    cliques = []
    for triple in sorted(triples):
        members = [j for sub in [triple, *itertools.combinations(triple, 2)] for j in by_set.get(sub, [])]
        if set.intersection(*(set(items[j]) for j in members)):
            continue
        cliques.append(members)
    return cliques


def pair_holders(items):
    holders = defaultdict(list)
    for j, item in enumerate(items):
        for pair in itertools.combinations(item, 2):
            holders[pair].append(j)
    return holders


def pair_cliques(items):
    """For every triangle {a, b, c} of intent pairs: the candidates holding two of a, b, c
    (pairwise they share one), when no one intent holds them all."""
    holders = pair_holders(items)
    partners = defaultdict(set)
    for a, b in holders:
        partners[a].add(b)
        partners[b].add(a)
    cliques = []
    for a, b in sorted(holders):
        for c in sorted(partners[a] & partners[b]):
            if c > b:
                members = sorted(set(holders[(a, b)]) | set(holders[(a, c)]) | set(holders[(b, c)]))
                if not set.intersection(*(set(items[j]) for j in members)):
                    cliques.append(members)
    return cliques


def separate_rings(items, holders, by_intent, x, longest, seen):
    """Rings of 5..`longest` (odd) intents, each side a pair carrying >= 0.05 of x, whose row
    (the candidates holding two of its intents, at most (|S| - 1) / 2) x violates. `holders`
    are the candidates of each intent pair, `by_intent` those of each intent."""
    sides = defaultdict(list)
    for (a, b), js in holders.items():
        carried = sum(x[j] for j in js)
        if carried > 0.05:
            sides[a].append((b, carried))
            sides[b].append((a, carried))
    rings = []
    for start in sorted(sides):
        stack = [(start, [start], 0.0)]
        while stack:
            node, path, carried = stack.pop()
            for other, weight in sides[node]:
                if other == start and len(path) >= 5 and len(path) % 2 == 1:
                    rhs = (len(path) - 1) // 2
                    key = frozenset(path)
                    if carried + weight > rhs + 1e-3 and key not in seen:
                        members = sorted({j for i in path for j in by_intent[i]
                                          if len(key.intersection(items[j])) >= 2})
                        if sum(x[j] for j in members) > rhs + 1e-3:
                            seen.add(key)
                            rings.append((members, float(rhs)))
                elif other > start and other not in path and len(path) < longest:
                    stack.append((other, path + [other], carried + weight))
    return rings


def conflict_neighbours(items):
    holders = defaultdict(list)
    for j, item in enumerate(items):
        for i in item:
            holders[i].append(j)
    neighbours = [set() for _ in items]
    for members in holders.values():
        for j in members:
            neighbours[j].update(members)
    for j, n in enumerate(neighbours):
        n.discard(j)
    return neighbours


def separate_cliques(x, neighbours, seen):
    """Greedy maximal cliques through each fractional candidate, heaviest first."""
    cuts = []
    for j in sorted((j for j in range(len(x)) if 1e-6 < x[j] < 1 - 1e-6), key=lambda j: (-x[j], j)):
        clique = [j]
        for k in sorted(neighbours[j], key=lambda k: (-x[k], k)):
            if all(k in neighbours[q] for q in clique):
                clique.append(k)
        key = frozenset(clique)
        if sum(x[q] for q in clique) > 1 + 1e-4 and key not in seen:
            seen.add(key)
            cuts.append((clique, 1.0))
    return cuts


def separate_odd_cycles(x, neighbours, seen):
    """Odd cycles C of the conflict graph with sum x > (|C| - 1) / 2: shortest odd closed walks
    under edge weights 1 - x_u - x_v, found in the bipartite double cover."""
    fractional = [j for j in range(len(x)) if 1e-6 < x[j] < 1 - 1e-6]
    inside = set(fractional)
    cuts = []
    for source in fractional:
        dist = {(source, 0): 0.0}
        previous = {}
        queue = [(0.0, source, 0)]
        found = False
        while queue:
            d, u, side = heapq.heappop(queue)
            if d > dist.get((u, side), 9e9) or d >= 1 - 1e-4:
                continue
            if u == source and side == 1:
                found = True
                break
            for v in neighbours[u]:
                if v in inside:
                    nd = d + max(0.0, 1 - x[u] - x[v])
                    if nd < dist.get((v, 1 - side), 9e9):
                        dist[(v, 1 - side)] = nd
                        previous[(v, 1 - side)] = (u, side)
                        heapq.heappush(queue, (nd, v, 1 - side))
        if not found:
            continue
        cycle, at = [], (source, 1)
        while at != (source, 0):
            cycle.append(at[0])
            at = previous[at]
        key = frozenset(cycle)
        if len(key) == len(cycle) >= 5 and key not in seen:
            if sum(x[q] for q in cycle) > (len(cycle) - 1) / 2 + 1e-4:
                seen.add(key)
                cuts.append((cycle, (len(cycle) - 1) / 2))
    return cuts


def highs_root(items, weights, intents, time_limit):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_max_nodes", 1)
    h.setOptionValue("time_limit", time_limit)
    n = len(items)
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), -weights)
    matrix = intent_matrix(items, intents).tocsr()
    h.addRows(intents, np.full(intents, -highspy.kHighsInf), np.ones(intents), matrix.nnz,
              matrix.indptr[:-1].astype(np.int32), matrix.indices.astype(np.int32), matrix.data)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger] * n))
    started = time.time()
    h.run()
    info = h.getInfo()
    return -info.mip_dual_bound, -info.objective_function_value, time.time() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("candidates")
    parser.add_argument("--cut-rounds", type=int, default=10)
    parser.add_argument("--odd-cycles", action="store_true")
    parser.add_argument("--rings", type=int, default=0, help="longest odd ring, e.g. 7")
    parser.add_argument("--root", action="store_true")
    parser.add_argument("--time-limit", type=float, default=600.0)
    args = parser.parse_args()

    items, weights, intents = load(args.candidates)
    base = intent_matrix(items, intents)
    report = {"candidates": len(items)}

    started = time.time()
    report["lp"] = round(lp_value(weights, base, [], [])[0], 4)
    report["lp_seconds"] = round(time.time() - started, 2)

    triples = triple_cliques(items)
    report["triple_cliques"] = len(triples)
    report["lp_triples"] = round(lp_value(weights, base, triples, [1.0] * len(triples))[0], 4)

    pair_rows = pair_cliques(items)
    report["pair_cliques"] = len(pair_rows)
    value, x = lp_value(weights, base, pair_rows, [1.0] * len(pair_rows))
    report["lp_pair_cliques"] = round(value, 4)
    if args.rings:
        rows, rhs, seen = list(pair_rows), [1.0] * len(pair_rows), set()
        holders = pair_holders(items)
        by_intent = defaultdict(list)
        for j, item in enumerate(items):
            for i in item:
                by_intent[i].append(j)
        for _ in range(args.cut_rounds):
            rings = separate_rings(items, holders, by_intent, x, args.rings, seen)
            if not rings:
                break
            rows += [r for r, _ in rings]
            rhs += [b for _, b in rings]
            value, x = lp_value(weights, base, rows, rhs)
        report[f"lp_pair_cliques_rings_{args.rings}"] = round(value, 4)
        report["rings"] = len(rows) - len(pair_rows)

    if args.cut_rounds > 0:
        neighbours = conflict_neighbours(items)
        rows, rhs, seen = [], [], set()
        for _ in range(args.cut_rounds):
            value, x = lp_value(weights, base, rows, rhs)
            cuts = separate_cliques(x, neighbours, seen)
            if args.odd_cycles:
                cuts += separate_odd_cycles(x, neighbours, seen)
            if not cuts:
                break
            rows += [c for c, _ in cuts]
            rhs += [r for _, r in cuts]
        report["lp_cliques" + ("_odd_cycles" if args.odd_cycles else "")] = round(
            lp_value(weights, base, rows, rhs)[0], 4)
        report["cuts"] = len(rows)

    if args.root:
        bound, best, seconds = highs_root(items, weights, intents, args.time_limit)
        report.update(root_bound=round(bound, 4), root_best=round(best, 4),
                      root_seconds=round(seconds, 1))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
