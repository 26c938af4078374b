#!/usr/bin/env python3
"""Time xent's loss + gradient against PyTorch (one thread) and the plain NumPy pattern, in one process.

    python benchmarks/bench_xent.py            # N = 4096, C = 1000, float32, 30 interleaved rounds
    python benchmarks/bench_xent.py --quick    # a smaller size and fewer rounds, a few seconds

Cases (each computes the mean loss and its gradient with respect to the logits):

- ``cross_entropy``: class-index targets. xent's ``cross_entropy_and_grad``; torch's
  ``F.cross_entropy`` forward + ``backward()``; NumPy's max-shift / one-hot / (P − Y)/N pattern.
- ``bce_with_logits``: 0/1 targets of the logits' shape. xent's
  ``binary_cross_entropy_with_logits_and_grad``; torch's forward + backward; NumPy's
  max(z, 0) − z·y + log1p(e^−|z|) with σ(z) − y.

The three implementations of a case run one after the other inside each round (in a rotating
order), so a slow moment of a shared machine hits all three alike. The table shows the median
time of each and the ratios xent/torch and xent/NumPy; the peak memory each allocates (tracemalloc
sees NumPy's allocations, not torch's) and the machine's copy bandwidth are measured too.
Results go to benchmarks/results/xent.json (chapter 12 reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import time
import tracemalloc

import numpy as np
import torch
import torch.nn.functional as F

import xent

HERE = pathlib.Path(__file__).resolve().parent


# --------------------------------------------------------------------------- the plain NumPy patterns


def numpy_cross_entropy_and_grad(z: np.ndarray, t: np.ndarray):
    """The textbook pattern: shift by the max, softmax, one-hot Y, loss −mean log P_t, gradient (P − Y)/N."""
    n, c = z.shape
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    p = e / e.sum(axis=1, keepdims=True)
    y = np.eye(c, dtype=z.dtype)[t]  # one-hot (N, C)
    loss = -np.mean(np.log(p[np.arange(n), t]))
    return loss, (p - y) / n


def numpy_bce_and_grad(z: np.ndarray, y: np.ndarray):
    """The textbook stable form: max(z, 0) − z·y + log1p(e^−|z|); gradient σ(z) − y, over the count."""
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    e = np.exp(-np.abs(z))
    sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return loss, (sig - y) / z.size


def torch_cross_entropy_and_grad(z: torch.Tensor, t: torch.Tensor):
    x = z.detach().requires_grad_()
    loss = F.cross_entropy(x, t)
    loss.backward()
    return loss.detach(), x.grad


def torch_bce_and_grad(z: torch.Tensor, y: torch.Tensor):
    x = z.detach().requires_grad_()
    loss = F.binary_cross_entropy_with_logits(x, y)
    loss.backward()
    return loss.detach(), x.grad


# --------------------------------------------------------------------------- measuring


def peak_mib(fn, *args) -> float:
    """Peak memory NumPy allocates during fn(*args), outputs included, in MiB (tracemalloc)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def copy_bandwidth_gbs(n_bytes: int = 64 * 2**20, rounds: int = 10) -> float:
    """Read + write bandwidth of np.copyto on two large float32 arrays, in GB/s (10⁹ bytes/s)."""
    a = np.ones(n_bytes // 4, dtype=np.float32)
    b = np.empty_like(a)
    np.copyto(b, a)
    best = min(_time(lambda: np.copyto(b, a)) for _ in range(rounds))
    return 2 * n_bytes / best / 1e9


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(impls: dict, rounds: int) -> dict[str, list[float]]:
    """Run each implementation once per round, in a rotating order; return every time in seconds."""
    names = list(impls)
    times = {name: [] for name in names}
    for name in names:  # warm-up: first-touch page faults, lazy initialisation
        impls[name]()
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            times[name].append(_time(impls[name]))
    return times


def check_agreement(case: str, results: dict) -> None:
    """The three implementations compute the same loss and gradient (float32 round-off)."""
    ref_loss, ref_grad = (np.asarray(x, dtype=np.float64) for x in results["numpy"])
    for name, (loss, grad) in results.items():
        loss, grad = np.asarray(loss, dtype=np.float64), np.asarray(grad, dtype=np.float64)
        assert abs(loss - ref_loss) <= 1e-5 * abs(ref_loss), (case, name, loss, ref_loss)
        assert np.max(np.abs(grad - ref_grad)) <= 1e-5 * np.max(np.abs(ref_grad)), (case, name)


def run(n: int, c: int, rounds: int, seed: int = 0) -> dict:
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=(n, c)).astype(np.float32)
    t = rng.integers(0, c, size=n)
    y = (rng.random((n, c)) < 0.5).astype(np.float32)
    zt, tt, yt = torch.from_numpy(z), torch.from_numpy(t), torch.from_numpy(y)

    cases = {
        "cross_entropy": {
            "xent": lambda: xent.cross_entropy_and_grad(z, t),
            "torch": lambda: torch_cross_entropy_and_grad(zt, tt),
            "numpy": lambda: numpy_cross_entropy_and_grad(z, t),
        },
        "bce_with_logits": {
            "xent": lambda: xent.binary_cross_entropy_with_logits_and_grad(z, y),
            "torch": lambda: torch_bce_and_grad(zt, yt),
            "numpy": lambda: numpy_bce_and_grad(z, y),
        },
    }
    out = {
        "n": n, "c": c, "dtype": "float32", "rounds": rounds, "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
        "numpy": np.__version__, "torch": torch.__version__, "cpu_count": os.cpu_count(),
        "copy_bandwidth_gbs": copy_bandwidth_gbs(), "cases": {},
    }
    for case, impls in cases.items():
        check_agreement(case, {name: fn() for name, fn in impls.items()})
        times = interleaved(impls, rounds)
        med = {name: statistics.median(ts) for name, ts in times.items()}
        out["cases"][case] = {
            "median_ms": {name: 1e3 * v for name, v in med.items()},
            "min_ms": {name: 1e3 * min(ts) for name, ts in times.items()},
            "xent_over_torch": med["xent"] / med["torch"],
            "xent_over_numpy": med["xent"] / med["numpy"],
            # what NumPy allocates (the logits are the input, allocated before): xent should be ~1 N×C
            "peak_mib": {name: peak_mib(impls[name]) for name in ("xent", "numpy")},
        }
    out["nc_mib"] = n * c * 4 / 2**20
    return out


def report(res: dict) -> str:
    lines = [f"N = {res['n']}, C = {res['c']}, {res['dtype']}, torch threads = {res['torch_threads']}, "
             f"{res['rounds']} interleaved rounds (median ms); copy bandwidth {res['copy_bandwidth_gbs']:.1f} GB/s",
             f"{'case':<16} {'xent':>8} {'torch':>8} {'numpy':>8} {'xent/torch':>11} {'xent/numpy':>11}"
             f" {'peak MiB xent/numpy':>20}"]
    for case, r in res["cases"].items():
        m = r["median_ms"]
        lines.append(f"{case:<16} {m['xent']:8.2f} {m['torch']:8.2f} {m['numpy']:8.2f} "
                     f"{r['xent_over_torch']:11.2f} {r['xent_over_numpy']:11.2f} "
                     f"{r['peak_mib']['xent']:9.1f} / {r['peak_mib']['numpy']:.1f}")
    lines.append(f"(one N×C float32 array is {res['nc_mib']:.1f} MiB)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1024, C = 500, 10 rounds")
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--c", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "results" / "xent.json")
    args = parser.parse_args()
    n, c, rounds = (1024, 500, 10) if args.quick else (args.n, args.c, args.rounds)
    res = run(n, c, rounds)
    print(report(res))
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"written: {args.out.relative_to(HERE.parent) if args.out.is_relative_to(HERE.parent) else args.out}")


if __name__ == "__main__":
    main()
