"""Prints scripts/gpu-check.sh's table from its results file: every round, then the median of the
rounds for each side (each round a fresh process).

usage: gpu_table.py RESULTS.tsv   (lines: side, round, s/step, tok/s, peak MiB, torch MiB, loss)
"""
import statistics
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
    head = ("side", "round", "s/step", "tok/s", "peak GPU MiB", "torch peak MiB", "last loss")
    widths = (30, 5, 8, 10, 13, 15, 9)

    def show(cells):
        print("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(cells, widths))))

    show(head)
    for r in rows:
        show(r)
    print("median of the rounds:")
    sides = list(dict.fromkeys(r[0] for r in rows))
    for side in sides:
        mine = [r for r in rows if r[0] == side]

        def med(i, fmt):
            vals = [float(r[i]) for r in mine if r[i] not in ("", "-")]
            return fmt.format(statistics.median(vals)) if vals else "-"

        show((side, len(mine), med(2, "{:.4f}"), med(3, "{:.0f}"), med(4, "{:.0f}"),
              med(5, "{:.0f}"), med(6, "{:.4f}")))


if __name__ == "__main__":
    main()
