#!/usr/bin/env python3
"""Peak memory and time of the dense (naive) and the chunked linear + cross-entropy, in NumPy.

    python benchmarks/bench_chunked.py            # full size: N = 4096, d = 256, V = 32768, float32
    python benchmarks/bench_chunked.py --quick    # a small size, a few seconds
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_chunked.py   # steadier times on a shared machine

Both paths compute the mean loss of logits Z = H W (N×V) with class-index targets and its
gradients with respect to H (N×d) and W (d×V). Peak memory is what tracemalloc sees NumPy allocate
during the call (outputs included; the inputs H, W, target are allocated before). Time is the best
of `--repeat` wall-clock runs, dense and chunked interleaved. Results go to benchmarks/results/chunked.json, which chapter 13 reads.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time
import tracemalloc

import numpy as np

import xent

MIB = 2.0**20
HERE = pathlib.Path(__file__).resolve().parent


def dense_loss_and_grad(H, W, t):
    """The naive path: hold the N×V logits and the N×V probabilities, then σ − Y and two matmuls."""
    n = H.shape[0]
    rows = np.arange(n)
    Z = H @ W  # (N, V) logits
    m = Z.max(axis=1, keepdims=True)  # (N, 1)
    P = np.exp(Z - m)  # (N, V) unnormalised probabilities
    s = P.sum(axis=1, keepdims=True)  # (N, 1)
    loss = np.mean(np.log(s[:, 0]) - (Z[rows, t] - m[:, 0]))
    P /= s  # σ(Z)
    P[rows, t] -= 1  # σ − Y
    P /= n  # ∂(mean loss)/∂Z
    return loss, P @ W.T, H.T @ P


def chunked_loss_and_grad(H, W, t, token_chunk=256, vocab_chunk=4096):
    """The fused path from xent: one (token_chunk × vocab_chunk) block of logits at a time."""
    return xent.linear_cross_entropy_and_grad(H, W, t, token_chunk=token_chunk, vocab_chunk=vocab_chunk)


def problem(n, d, v, dtype=np.float32, seed=0):
    """Seeded hidden states (N, d), weights (d, V) scaled so logits have standard deviation ~2, targets."""
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((n, d), dtype=np.float32).astype(dtype)
    W = (rng.standard_normal((d, v), dtype=np.float32) * (2.0 / np.sqrt(d))).astype(dtype)
    t = rng.integers(0, v, size=n)
    return H, W, t


def peak_mib(fn):
    """Peak MiB that tracemalloc sees allocated during fn() (its outputs included)."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / MIB


def best_seconds(calls, repeat=3):
    """Best wall-clock time of each of `calls` over `repeat` rounds, interleaved so that a burst of
    load from other processes hits every candidate alike (tracemalloc off: it slows allocation)."""
    best = [float("inf")] * len(calls)
    for _ in range(repeat):
        for i, call in enumerate(calls):
            start = time.perf_counter()
            call()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def measure(n, d, v, token_chunk, vocab_chunk, repeat, with_dense=True):
    """One row of the results table."""
    H, W, t = problem(n, d, v)
    row = dict(N=n, d=d, V=v, token_chunk=token_chunk, vocab_chunk=vocab_chunk or v,
               logits_mib=n * v * 4 / MIB, outputs_mib=(n * d + d * v) * 4 / MIB)
    chunked = lambda: chunked_loss_and_grad(H, W, t, token_chunk, vocab_chunk)  # noqa: E731
    dense = lambda: dense_loss_and_grad(H, W, t)  # noqa: E731
    row["chunked_mib"] = peak_mib(chunked)
    if with_dense:
        row["dense_mib"] = peak_mib(dense)
        row["chunked_s"], row["dense_s"] = best_seconds([chunked, dense], repeat)
    else:
        (row["chunked_s"],) = best_seconds([chunked], repeat)
    print("  ".join(f"{k}={val:.3g}" if isinstance(val, float) else f"{k}={val}" for k, val in row.items()),
          flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small size (N = 1024, d = 128, V = 8192)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "chunked.json"))
    args = parser.parse_args()
    n, d, v = (1024, 128, 8192) if args.quick else (4096, 256, 32768)
    result = dict(machine=f"{platform.machine()}, {platform.python_implementation()} "
                          f"{platform.python_version()}, NumPy {np.__version__}",
                  blas_threads=os.environ.get("OPENBLAS_NUM_THREADS", "all"),
                  size=dict(N=n, d=d, V=v, dtype="float32"))
    print("headline: dense vs chunked at full size")
    result["headline"] = [measure(n, d, v, 256, 4096, max(args.repeat, 5))]
    print("scaling with V (token_chunk = 256, vocab_chunk = 4096)")
    result["by_vocab"] = [measure(n, d, vv, 256, 4096, args.repeat) for vv in (v // 8, v // 4, v // 2)]
    result["by_vocab"] += result["headline"]
    print("scaling with the block shape (token_chunk x vocab_chunk) at full size")
    result["by_chunk"] = [measure(n, d, v, tc, vc, args.repeat, with_dense=False)
                          for tc, vc in ((64, None), (128, None), (256, 1024), (256, 2048), (1024, 4096),
                                         (64, 8192))]
    result["by_chunk"] += result["headline"]
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out.relative_to(HERE.parent) if out.is_relative_to(HERE.parent) else out}")


if __name__ == "__main__":
    main()
