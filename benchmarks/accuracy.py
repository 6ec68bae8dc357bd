"""The unpaired accuracy benchmark: writes docs/benchmarks.md and docs/benchmarks.png.

    python benchmarks/accuracy.py           # full grid, about 25 min on 2 cores
    python benchmarks/accuracy.py --quick   # one pair, two seeds (CI smoke test)

The code lives in skcmkd/benchmark.py so that `python -m skcmkd benchmark`
runs the same thing from an installed package.
"""

import sys

from skcmkd.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", *sys.argv[1:]]))
