#!/usr/bin/python3
"""Prints the throughput benchmarks' tables (bench/throughput.sh,
bench/lstm.sh): reads rows `REG QSDC PEER...` from standard input, a rate per
column in UNIT or a word saying why there is none (`failed`, `no-venv`),
and prints qsdc's rate, each peer's, the strongest peer (the highest rate in
the row) and qsdc's ratio to it (above 1: qsdc is faster).

With --rounds R > 1 the rows are R rounds of the same regularisers; it
prints one table of medians: each column's median rate and the median of
the rounds' ratios to their strongest peer, so that one round disturbed by
other load does not move them. --step-ratios adds qsdc's step time with
each regulariser relative to none (its rates inverted).
"""
import argparse
import statistics
import sys


def number(cell):
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if value > 0 else None


def strongest(peers, rates):
    """(name, rate) of the highest numeric rate, or (None, None)."""
    best = max(((r, p) for p, r in zip(peers, map(number, rates)) if r is not None),
               default=(None, None))
    return best[1], best[0]


def median_row(rows, peers):
    """One row of medians out of one regulariser's rows of several rounds:
    (cells, strongest peer, median ratio); a column without any rate keeps
    the first round's word."""
    cells = []
    for column in zip(*rows):
        values = [v for v in map(number, column) if v is not None]
        cells.append(f"{statistics.median(values):.0f}" if values else column[0])
    ratios, names = [], []
    for row in rows:
        name, best = strongest(peers, row[1:])
        q = number(row[0])
        if best is not None and q is not None:
            ratios.append(q / best)
            names.append(name)
    name = max(set(names), key=names.count) if names else None
    return cells, name, statistics.median(ratios) if ratios else None


def print_table(title, unit, peers, table):
    """table: (reg, cells, strongest peer, ratio) rows."""
    widths = [12, max(9, len(unit) + 5)] + [max(10, len(p)) for p in peers] + [16, 15]
    header = ["regulariser", f"qsdc {unit}"] + peers + ["strongest peer", "qsdc/strongest"]
    if title:
        print(f"\n{title}", end="")
    print()
    print(" ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths))))
    for reg, cells, name, ratio in table:
        out = [reg] + cells + [name or "n/a", f"{ratio:.2f}" if ratio is not None else "n/a"]
        print(" ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(out, widths))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unit", required=True, help="samples/s or tokens/s")
    ap.add_argument("--peers", required=True, help="the peer columns' names, comma-separated")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--step-ratios", action="store_true")
    args = ap.parse_args()
    peers = args.peers.split(",")
    rows = {}
    for line in sys.stdin:
        if line.split():
            reg, *cells = line.split()
            if len(cells) != 1 + len(peers):
                sys.exit(f"peer_table.py: {line.strip()!r}: want qsdc and {len(peers)} peers")
            rows.setdefault(reg, []).append(cells)

    table = []
    for reg, reg_rows in rows.items():
        if args.rounds > 1:
            cells, name, ratio = median_row(reg_rows, peers)
        else:
            cells = reg_rows[-1]
            name, best = strongest(peers, cells[1:])
            q = number(cells[0])
            ratio = q / best if best is not None and q is not None else None
        table.append((reg, cells, name, ratio))
    title = f"median of {args.rounds} rounds" if args.rounds > 1 else ""
    print_table(title, args.unit, peers, table)

    if args.step_ratios:
        none = next((number(c[0]) for reg, c, _, _ in table if reg == "none"), None)
        for reg, cells, _, _ in table:
            q = number(cells[0])
            if reg != "none" and none is not None and q is not None:
                print(f"qsdc step time, {reg} / none: {none / q:.2f}x")


if __name__ == "__main__":
    main()
