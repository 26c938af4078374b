#!/usr/bin/env python3
"""Start-up and run time of the vocabulary-parallel cross-entropy on gloo, spawn vs fork.

    python benchmarks/bench_parallel.py

Starts P = 2 and 4 processes on loopback with each start method, runs one loss-and-gradient step
of xent.parallel on a small problem (N = 1024, d = 64, V = 8192, float64), and records the wall
time of the whole run (start-up included) and of the step alone. Spawned processes start a fresh
interpreter and import torch and xent again; forked ones inherit the parent's memory. Results go to
benchmarks/results/parallel.json, which chapter 14 reads.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pathlib
import platform

import numpy as np

from xent import parallel

HERE = pathlib.Path(__file__).resolve().parent


def main() -> None:
    size = (1024, 64, 8192)
    rows = []
    methods = [m for m in ("spawn", "fork") if m in multiprocessing.get_all_start_methods()]
    for method in methods:
        for world in (2, 4):
            out = parallel.run_vocab_parallel(world, size, [{}], start_method=method)
            rows.append(dict(start_method=method, P=world, wall_s=out["wall_seconds"],
                             step_s=out["configs"][0]["seconds"]))
            print(rows[-1], flush=True)
    result = dict(machine=f"{platform.machine()}, CPython {platform.python_version()}, NumPy {np.__version__}",
                  cpus=os.cpu_count(), size=dict(N=size[0], d=size[1], V=size[2], dtype="float64"), runs=rows)
    path = HERE / "results" / "parallel.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
