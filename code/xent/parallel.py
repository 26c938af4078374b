"""Vocabulary-parallel cross-entropy on torch.distributed: process p holds columns [lo_p, hi_p) of W.

Per token, the loss needs three all-reduces of one scalar each: the maximum logit (MAX), the sum
of exp(z − m) (SUM) and the target logit (SUM; it lives on one shard, the others add 0). Label
smoothing adds a fourth, Σ_c z_c. The gradient with respect to the local logits, σ − T, is then
computed on each shard with no further communication; only the linear layer's ∂/∂H = Σ_p G_p W_pᵀ
is summed across processes (an all-reduce of N×d numbers, independent of V).

`run_vocab_parallel` starts P processes on this machine (gloo backend, loopback only) with
torch.multiprocessing; the worker lives here so that the spawned interpreters can import it.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from numpy.typing import NDArray


def shard_range(v: int, world_size: int, rank: int) -> tuple[int, int]:
    """Columns [lo, hi) of rank `rank` when V classes are split as evenly as possible over P ranks."""
    for name, value in (("v", v), ("world_size", world_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if world_size > v:
        raise ValueError(f"world_size: {world_size} processes cannot split V = {v} classes")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
        raise ValueError(f"rank: expected an integer in [0, {world_size}), got {rank!r}")
    base, extra = divmod(v, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


@dataclass
class Ledger:
    """What one process sent to all-reduce: (purpose, number of elements, bytes) per call."""

    calls: list[tuple[str, int, int]] = field(default_factory=list)

    def all_reduce(self, tensor: torch.Tensor, op: dist.ReduceOp, purpose: str) -> torch.Tensor:
        """dist.all_reduce(tensor, op) in place, recorded under `purpose`."""
        dist.all_reduce(tensor, op=op)
        self.calls.append((purpose, tensor.numel(), tensor.numel() * tensor.element_size()))
        return tensor

    def bytes(self, prefix: str = "") -> int:
        """Payload bytes of the recorded calls whose purpose starts with `prefix`."""
        return sum(b for p, _, b in self.calls if p.startswith(prefix))


def vocab_parallel_cross_entropy(
    H: torch.Tensor,
    W_shard: torch.Tensor,
    target: torch.Tensor,
    lo: int,
    v: int,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    ledger: Ledger | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, ∂loss/∂H, ∂loss/∂W_shard) of cross_entropy(H @ W) with W's columns [lo, lo + V_p) held here."""
    ledger = ledger if ledger is not None else Ledger()
    eps = float(label_smoothing)
    n = H.shape[0]
    Z = H @ W_shard  # (N, V_p) this shard's logits
    kept = target != ignore_index  # (N,) known on every rank: no communication
    local = kept & (target >= lo) & (target < lo + W_shard.shape[1])  # target column on this shard
    rows = torch.arange(n)
    # 1. the global maximum per token
    m = ledger.all_reduce(Z.max(dim=1).values, dist.ReduceOp.MAX, "loss: max")  # (N,)
    E = torch.exp(Z - m[:, None])  # (N, V_p)
    # 2. the global sum of exponentials
    s = ledger.all_reduce(E.sum(dim=1), dist.ReduceOp.SUM, "loss: sum exp")  # (N,)
    # 3. the target logit: one shard contributes z_t, the others 0
    zt = torch.where(local, Z[rows, (target - lo).clamp(0, W_shard.shape[1] - 1)], torch.zeros(()))
    zt = ledger.all_reduce(zt, dist.ReduceOp.SUM, "loss: target logit")  # (N,)
    lse = m + torch.log(s)  # (N,)
    losses = (1 - eps) * (lse - zt)
    if eps > 0:  # 4. smoothing: the uniform part needs Σ_c z_c over all V classes
        zsum = ledger.all_reduce(Z.sum(dim=1), dist.ReduceOp.SUM, "loss: sum of logits")
        losses = losses + eps * (lse - zsum / v)
    losses = torch.where(kept, losses, torch.zeros(()))
    denominator = kept.sum().to(H.dtype)
    if reduction == "mean":
        loss, scale = losses.sum() / denominator, 1.0 / denominator
    elif reduction == "sum":
        loss, scale = losses.sum(), torch.ones((), dtype=H.dtype)
    else:
        loss, scale = losses, torch.ones((), dtype=H.dtype)
    # gradient w.r.t. this shard's logits, σ − T, computed locally
    G = E / s[:, None] - eps / v  # (N, V_p)
    G[rows[local], (target - lo)[local]] -= 1 - eps
    G = G * (kept.to(H.dtype) * scale)[:, None]
    dW_shard = H.T @ G  # (d, V_p): local, no communication
    dH = ledger.all_reduce(G @ W_shard.T, dist.ReduceOp.SUM, "linear: dH")  # (N, d)
    return loss, dH, dW_shard


def make_problem(n: int, d: int, v: int, seed: int = 0, ignore_every: int = 5,
                 ) -> tuple[NDArray, NDArray, NDArray]:
    """Seeded float64 H (n, d), W (d, v) and targets (n,), every `ignore_every`-th target = -100."""
    rng = np.random.default_rng(seed)
    H = rng.normal(size=(n, d))
    W = rng.normal(scale=2.0 / np.sqrt(d), size=(d, v))
    t = rng.integers(0, v, size=n)
    if ignore_every:
        t[::ignore_every] = -100
    return H, W, t


def _worker(rank: int, world_size: int, out_dir: str, size: tuple[int, int, int],
            configs: list[dict], gather_check: bool, timeout_s: float) -> None:
    """One process: join the gloo group, compute every config on its shard, save results as .npz."""
    torch.set_num_threads(1)
    # a peer that never arrives (or a collective that never completes) raises after timeout_s
    dist.init_process_group("gloo", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    try:
        n, d, v = size
        lo, hi = shard_range(v, world_size, rank)
        results = {}
        for i, cfg in enumerate(configs):
            H, W, t = make_problem(n, d, v, ignore_every=cfg.get("ignore_every", 5))
            ledger = Ledger()
            start = time.perf_counter()
            loss, dH, dW = vocab_parallel_cross_entropy(
                torch.from_numpy(H), torch.from_numpy(W[:, lo:hi]).contiguous(), torch.from_numpy(t), lo, v,
                reduction=cfg.get("reduction", "mean"), label_smoothing=cfg.get("label_smoothing", 0.0),
                ledger=ledger)
            results[f"{i}/seconds"] = time.perf_counter() - start
            results[f"{i}/loss"], results[f"{i}/dH"], results[f"{i}/dW"] = loss.numpy(), dH.numpy(), dW.numpy()
            results[f"{i}/loss_bytes"] = ledger.bytes("loss")
            results[f"{i}/loss_calls"] = sum(p.startswith("loss") for p, _, _ in ledger.calls)
            results[f"{i}/dH_bytes"] = ledger.bytes("linear")
        if gather_check:  # what gathering the full logits would move, timed against the scalars
            H, W, t = make_problem(n, d, v)
            Z = torch.from_numpy(H) @ torch.from_numpy(W[:, lo:hi]).contiguous()
            dist.barrier()
            start = time.perf_counter()
            width = shard_range(v, world_size, 0)[1]  # the widest shard; gloo needs equal sizes
            padded = torch.zeros(n, width, dtype=Z.dtype)
            padded[:, :hi - lo] = Z
            pieces = [torch.empty(n, width, dtype=Z.dtype) for _ in range(world_size)]
            dist.all_gather(pieces, padded)
            results["gather/seconds"] = time.perf_counter() - start
            results["gather/bytes"] = sum(p.numel() * p.element_size() for p in pieces)  # N·V·b + padding
            dist.barrier()
            start = time.perf_counter()
            for op in (dist.ReduceOp.MAX, dist.ReduceOp.SUM, dist.ReduceOp.SUM):
                dist.all_reduce(torch.zeros(n, dtype=Z.dtype), op=op)
            results["scalars/seconds"] = time.perf_counter() - start
        results["lo"], results["hi"] = lo, hi
        np.savez(pathlib.Path(out_dir) / f"rank{rank}.npz", **results)
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_and_join(world_size: int, args: tuple, start_method: str, timeout_s: float) -> None:
    """Start the workers and wait for all of them, at most timeout_s seconds: never hang."""
    with warnings.catch_warnings():
        # Python 3.12+ warns that fork() in a multi-threaded process (a Jupyter kernel) may deadlock
        # the child; the workers only compute, write a file and exit, and every wait is bounded
        warnings.filterwarnings("ignore", message=r".*fork\(\)", category=DeprecationWarning)
        context = mp.start_processes(_worker, args=args, nprocs=world_size, join=False,
                                     daemon=True, start_method=start_method)
    deadline = time.monotonic() + timeout_s
    # join() raises (and stops the others) as soon as one worker fails
    while not context.join(timeout=max(0.0, min(1.0, deadline - time.monotonic())), grace_period=5):
        if time.monotonic() >= deadline:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
                process.join()
            raise TimeoutError(f"timeout_s: the {world_size} workers did not finish in {timeout_s} s")


def run_vocab_parallel(world_size: int, size: tuple[int, int, int], configs: list[dict],
                       gather_check: bool = False, start_method: str = "spawn",
                       timeout_s: float = 300.0) -> dict:
    """Start `world_size` gloo processes on loopback; return rank 0's loss and dH, the joined dW, timings.

    Every wait is bounded: the process group and its collectives time out after `timeout_s`, and so
    does the join of the workers (they are killed and TimeoutError is raised).
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size: expected a positive integer, got {world_size!r}")
    if start_method not in ("spawn", "fork", "forkserver"):
        raise ValueError(f"start_method: expected 'spawn', 'fork' or 'forkserver', got {start_method!r}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
        raise ValueError(f"timeout_s: expected a positive number of seconds, got {timeout_s!r}")
    os.environ.update(MASTER_ADDR="127.0.0.1")  # loopback only: nothing leaves this machine
    if sys.platform.startswith("linux"):
        os.environ.update(GLOO_SOCKET_IFNAME="lo")
    with tempfile.TemporaryDirectory() as out_dir:
        args = (world_size, out_dir, size, configs, gather_check, float(timeout_s))
        for attempt in range(3):  # the free port can be taken by another program before rank 0 binds it
            os.environ["MASTER_PORT"] = str(free_port())
            start = time.perf_counter()
            try:
                _start_and_join(world_size, args, start_method, timeout_s)
                break
            except mp.ProcessRaisedException as exc:
                if attempt == 2 or "address already in use" not in str(exc).lower():
                    raise
        wall = time.perf_counter() - start
        ranks = [dict(np.load(pathlib.Path(out_dir) / f"rank{r}.npz")) for r in range(world_size)]
    out = {"wall_seconds": wall, "shards": [(int(r["lo"]), int(r["hi"])) for r in ranks], "configs": []}
    for i in range(len(configs)):
        out["configs"].append(dict(
            loss=ranks[0][f"{i}/loss"], dH=ranks[0][f"{i}/dH"],
            dW=np.concatenate([r[f"{i}/dW"] for r in ranks], axis=1),
            losses_agree=all(np.array_equal(r[f"{i}/loss"], ranks[0][f"{i}/loss"]) for r in ranks),
            dH_agree=all(np.array_equal(r[f"{i}/dH"], ranks[0][f"{i}/dH"]) for r in ranks),
            loss_bytes=int(ranks[0][f"{i}/loss_bytes"]), loss_calls=int(ranks[0][f"{i}/loss_calls"]),
            dH_bytes=int(ranks[0][f"{i}/dH_bytes"]),
            seconds=max(float(r[f"{i}/seconds"]) for r in ranks)))
    if gather_check:
        out["gather_seconds"] = max(float(r["gather/seconds"]) for r in ranks)
        out["gather_bytes"] = int(ranks[0]["gather/bytes"])
        out["scalars_seconds"] = max(float(r["scalars/seconds"]) for r in ranks)
    return out
