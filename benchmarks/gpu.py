"""What the alignment costs on a GPU: writes docs/performance_gpu.md.

The same side-by-side epoch ratios as section 1 of docs/performance.md
(benchmarks/performance.py), with ``device="cuda"``: the plain step against
the defaults with each solver (exact EMD also at every step) and skada's
DeepJDOT where installed, at batch sizes 64, 256 and 1024. On the
device, Sinkhorn and sliced run through POT's torch backend; exact EMD sends
each step's cost matrix to the host (POT's network simplex is CPU-only).
One prepared command for a GPU machine, a few minutes:

    python benchmarks/gpu.py                              # needs CUDA
    python benchmarks/gpu.py --device cpu --quick --out /tmp/gpu.md   # smoke test
"""

import argparse
import platform
import sys
import time
from pathlib import Path

import ot
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from performance import (  # noqa: E402
    EPOCH_COLUMNS,
    EVERY,
    _table,
    epoch_cells,
    epoch_ratios,
    write_page,
)


def device_name(device):
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} torch threads)"


def render(rows, device, command, wall):
    table = [epoch_cells(row) for row in rows]
    return f"""# Performance on a GPU

Command: `{command}`. Device: {device_name(device)}; torch {torch.__version__},
POT {ot.__version__}. Wall time {wall / 60:.1f} min. Configurations interleaved
round by round; medians over rounds of the mean epoch after the first (whole
cycles of `transport_every={EVERY}`).

The plain student (no teacher, no neighbour term) against the defaults with
each solver and the neighbour consistency, exact EMD also solved at every
step, and skada's DeepJDOT where installed, as section 1 of
[the CPU page](performance.md): {rows[0]["n_student"]:,} student rows, a bank of
{rows[0]["n_bank"]:,} teacher embeddings, teacher batch 256. Exact EMD solves on the host.

{_table(["batch", "plain epoch", *EPOCH_COLUMNS.values()], table)}
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke test")
    parser.add_argument("--out", default="docs/performance_gpu.md")
    args = parser.parse_args(argv)
    if torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        print("No CUDA device here: run this on a GPU machine (or pass --device cpu).")
        return 2
    start = time.perf_counter()
    if args.quick:
        sizes = dict(batch_sizes=[64], n_student=256, n_bank=500, rounds=1, epochs=2)
    else:
        sizes = dict(
            batch_sizes=[64, 256, 1024], n_student=8192, n_bank=10_000, rounds=3, epochs=1 + EVERY
        )
    rows = epoch_ratios(**sizes, device=args.device)
    for row in rows:
        row["n_student"], row["n_bank"] = sizes["n_student"], sizes["n_bank"]
    command = "python benchmarks/gpu.py" + (" --quick" if args.quick else "")
    if args.device != "cuda":
        command += f" --device {args.device}"
    write_page(
        args.out, render(rows, args.device, command, time.perf_counter() - start), rows, command
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
