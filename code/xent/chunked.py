"""Cross-entropy for large vocabularies without the N×V logits matrix.

Online log-sum-exp: a chunk of logits is summarised by its state (m, s) = (max z, Σ exp(z − m)),
and states merge associatively, so LSE = m + log s can be computed chunk by chunk in any order.
The fused linear + cross-entropy computes the loss of logits Z = H W and its gradients with respect
to H (N×d) and W (d×V) in blocks of tokens and of the vocabulary, from ∂ℓ/∂Z = r·σ(Z) − T
(σ − Y for one-hot targets), holding at most one (token_chunk × vocab_chunk) block of logits.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks


class LSEState(NamedTuple):
    """The log-sum-exp state of a chunk: m = max_j z_j and s = Σ_j exp(z_j − m), so LSE = m + log s."""

    m: NDArray[np.floating]  # running maximum, shape of z without the reduced axis
    s: NDArray[np.floating]  # rescaled sum, same shape, in [1, chunk length]


def lse_state(z: ArrayLike, axis: int = -1) -> LSEState:
    """(m, s) = (max_j z_j, Σ_j exp(z_j − m)) along `axis`: one chunk's summary for lse_merge."""
    z = _checks.finite(z, "z")
    _checks.nonempty_axis(z, "z", axis)
    m = np.max(z, axis=axis)
    s = np.sum(np.exp(z - np.expand_dims(m, axis)), axis=axis)
    return LSEState(m, s)


def _merge(m1: NDArray, s1: NDArray, m2: NDArray, s2: NDArray) -> tuple[NDArray, NDArray]:
    """Unchecked kernel of lse_merge: M = max(m1, m2), S = s1 e^{m1 − M} + s2 e^{m2 − M}."""
    m = np.maximum(m1, m2)
    return m, s1 * np.exp(m1 - m) + s2 * np.exp(m2 - m)


def lse_merge(a: LSEState | tuple, b: LSEState | tuple) -> LSEState:
    """(m1, s1) ⊕ (m2, s2) = (M, s1·e^{m1−M} + s2·e^{m2−M}) with M = max(m1, m2); associative, commutative."""
    parts = []
    for name, state in (("a", a), ("b", b)):
        if len(state) != 2:
            raise ValueError(f"{name}: expected an LSE state (m, s), got {len(state)} entries")
        m = _checks.finite(state[0], f"{name}.m")
        s = _checks.finite(state[1], f"{name}.s")
        if m.shape != s.shape:
            raise ValueError(f"{name}.s: expected the shape of {name}.m {m.shape}, got {s.shape}")
        if np.any(s <= 0):
            raise ValueError(f"{name}.s: a sum of exponentials must be positive, found {s.min():g}")
        parts.append((m, s))
    (m1, s1), (m2, s2) = parts
    if m1.shape != m2.shape:
        raise ValueError(f"b.m: expected the shape of a.m {m1.shape}, got {m2.shape}")
    return LSEState(*_merge(m1, s1, m2, s2))


def lse_value(state: LSEState | tuple) -> NDArray[np.floating]:
    """LSE = m + log s for a state (m, s)."""
    m = _checks.finite(state[0], "state.m")
    s = _checks.finite(state[1], "state.s")
    if np.any(s <= 0):
        raise ValueError(f"state.s: a sum of exponentials must be positive, found {s.min():g}")
    return m + np.log(s)


def _positive_int(value: object, name: str) -> int:
    """Raise unless value is a positive integer (not a bool); return it as int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def chunked_logsumexp(z: ArrayLike, chunk_size: int, axis: int = -1) -> NDArray[np.floating]:
    """LSE(z) along `axis` by merging the states of consecutive chunks of `chunk_size` entries."""
    z = _checks.finite(z, "z")
    _checks.nonempty_axis(z, "z", axis)
    size = _positive_int(chunk_size, "chunk_size")
    z = np.moveaxis(z, axis, -1)  # (..., C)
    m, s = None, None
    for start in range(0, z.shape[-1], size):
        block = z[..., start:start + size]  # (..., c)
        mb = np.max(block, axis=-1)
        sb = np.sum(np.exp(block - mb[..., None]), axis=-1)
        m, s = (mb, sb) if m is None else _merge(m, s, mb, sb)
    return m + np.log(s)


_MATMUL_COLUMNS = 4096  # the gradient matmuls run on at most this many vocabulary columns at a time


class _Linear(NamedTuple):
    """Validated arguments of the fused linear + cross-entropy."""

    H: NDArray  # (N, d) hidden states
    W: NDArray  # (d, V) output weights
    t: NDArray  # (N,) class indices, ignored entries replaced by 0
    kept: NDArray  # (N,) bool, False where target == ignore_index
    w: NDArray | None  # (V,) class weights, or None for all ones
    wt: NDArray  # (N,) weight of each token's target (0 where ignored)
    eps: float  # label smoothing
    reduction: str
    denominator: float  # what 'mean' divides by
    token_chunk: int
    vocab_chunk: int
    skip_below: float


def _prepare(H, W, target, weight, ignore_index, reduction, label_smoothing,
             token_chunk, vocab_chunk, skip_below) -> _Linear:
    """Validate every argument once, at the public boundary."""
    _checks.reduction(reduction)
    H = _checks.finite(H, "H")
    W = _checks.finite(W, "W")
    if H.ndim != 2:
        raise ValueError(f"H: expected hidden states of shape (N, d), got shape {H.shape}")
    if W.ndim != 2:
        raise ValueError(f"W: expected output weights of shape (d, V), got shape {W.shape}")
    n, d = H.shape
    if W.shape[0] != d:
        raise ValueError(f"W: expected shape ({d}, V) to match H of shape {H.shape}, got {W.shape}")
    v = W.shape[1]
    if v == 0:
        raise ValueError(f"W: the vocabulary axis is empty (shape {W.shape})")
    dtype = np.result_type(H.dtype, W.dtype)
    H, W = H.astype(dtype, copy=False), W.astype(dtype, copy=False)
    if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing}")
    y = np.asarray(target)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"target: expected integer class indices of shape ({n},), got dtype {y.dtype} "
                         "(probability targets would need the N×V matrix this function avoids)")
    if y.shape != (n,):
        raise ValueError(f"target: expected class indices of shape ({n},) for H of shape {H.shape}, got {y.shape}")
    kept = y != ignore_index
    out = kept & ((y < 0) | (y >= v))
    if np.any(out):
        raise ValueError(f"target: class index {y[out][0]} is out of range [0, {v}) "
                         f"(W has V = {v} columns; ignore_index = {ignore_index})")
    t = np.where(kept, y, 0).astype(np.intp)
    if weight is None:
        w, wt = None, kept.astype(dtype)
    else:
        w = _checks.finite(weight, "weight").astype(dtype)
        if w.shape != (v,):
            raise ValueError(f"weight: expected shape ({v},), one weight per class, got {w.shape}")
        wt = w[t] * kept
    denominator = float(np.sum(wt))
    if reduction == "mean" and not np.any(kept):
        raise ValueError(f"target: every entry equals ignore_index ({ignore_index}); the mean is 0/0")
    if reduction == "mean" and denominator == 0:
        raise ValueError("weight: the weights of the counted targets sum to 0, so their weighted mean is 0/0")
    tc = _positive_int(token_chunk, "token_chunk")
    vc = v if vocab_chunk is None else _positive_int(vocab_chunk, "vocab_chunk")
    if not isinstance(skip_below, numbers.Real) or not 0.0 <= skip_below < 1.0:
        raise ValueError(f"skip_below: expected a probability threshold in [0, 1), got {skip_below}")
    if skip_below > 0 and label_smoothing > 0:
        raise ValueError("skip_below: skipping needs label_smoothing = 0 (smoothing makes every "
                         "gradient entry at least ε·w_c/V in size)")
    return _Linear(H, W, t, kept, w, wt, float(label_smoothing), reduction, denominator,
                   tc, min(vc, v), float(skip_below))


def _run(p: _Linear, want_grad: bool) -> tuple[NDArray, NDArray | None, NDArray | None, int]:
    """Unchecked kernel: per-token losses (N,), dH (N, d), dW (d, V), number of skipped blocks.

    Per token, with T_c = (1 − ε) w_t δ_ct + (ε/V) w_c and r = Σ_c T_c:
    ℓ = r·log s − (1 − ε) w_t (z_t − m) − (ε/V) Σ_c w_c (z_c − m), and ∂ℓ/∂z = r σ(z) − T.
    """
    H, W, dtype = p.H, p.W, p.H.dtype
    n_tok, v = H.shape[0], W.shape[1]
    eps = p.eps
    w_sum = float(v) if p.w is None else float(np.sum(p.w))
    r_all = ((1 - eps) * p.wt + (eps / v) * w_sum * p.kept).astype(dtype)  # (N,) Σ_c T_c
    losses = np.zeros(n_tok, dtype=dtype)  # (N,)
    dH = np.zeros_like(H) if want_grad else None  # (N, d)
    dW = np.zeros_like(W) if want_grad else None  # (d, V)
    scale = 1.0 / p.denominator if p.reduction == "mean" else 1.0
    vblocks = [(c0, min(c0 + p.vocab_chunk, v)) for c0 in range(0, v, p.vocab_chunk)]
    skipped = 0
    for r0 in range(0, n_tok, p.token_chunk):
        rows = slice(r0, min(r0 + p.token_chunk, n_tok))
        Hb, tb, r = H[rows], p.t[rows], r_all[rows]  # (n, d), (n,), (n,)
        idx = np.arange(Hb.shape[0])
        # pass 1: online LSE state, the target logit and Σ_c w_c z_c, one vocabulary block at a time
        m = s = None
        zt = np.zeros(Hb.shape[0], dtype=dtype)  # (n,) target logits
        zw = np.zeros(Hb.shape[0], dtype=dtype)  # (n,) Σ_c w_c z_c (smoothing only)
        for c0, c1 in vblocks:
            Z = Hb @ W[:, c0:c1]  # (n, c) the only logits ever held
            mb = Z.max(axis=1)
            inside = (tb >= c0) & (tb < c1)
            zt[inside] = Z[idx[inside], tb[inside] - c0]
            if eps > 0:
                zw += Z.sum(axis=1) if p.w is None else Z @ p.w[c0:c1]
            Z -= mb[:, None]
            np.exp(Z, out=Z)  # in place: exp(z − m_block) ∈ (0, 1]
            sb = Z.sum(axis=1)
            m, s = (mb, sb) if m is None else _merge(m, s, mb, sb)
            E = Z if want_grad and len(vblocks) == 1 else None  # one block: reused in pass 2
            del Z  # before the next block is allocated: one block alive at a time
        wzm = (zw - m * w_sum) if eps > 0 else 0.0  # Σ_c w_c (z_c − m)
        value = r * np.log(s) - (1 - eps) * p.wt[rows] * (zt - m) - (eps / v) * wzm  # (n,)
        losses[rows] = np.where(p.kept[rows], value, 0.0)  # ignored tokens: +0.0, as in cross_entropy
        if not want_grad:
            continue
        lse = m + np.log(s)  # (n,)
        coef = (r * scale).astype(dtype)  # (n,) r / denominator
        kept_b = p.kept[rows]
        for c0, c1 in vblocks:
            if len(vblocks) == 1:
                G = E
                G *= (coef / s)[:, None]  # r σ(z) / denominator, in place
            else:
                G = Hb @ W[:, c0:c1]  # (n, c) recomputed logits
                G -= lse[:, None]
                np.exp(G, out=G)  # σ(z) of this block
                if p.skip_below > 0 and not np.any(((tb >= c0) & (tb < c1) & kept_b)) \
                        and G.max() < p.skip_below:
                    skipped += 1  # every σ here is below the threshold and no target: G ≈ 0
                    continue
                G *= coef[:, None]
            inside = (tb >= c0) & (tb < c1) & kept_b
            G[idx[inside], tb[inside] - c0] -= ((1 - eps) * p.wt[rows][inside] * scale).astype(dtype)
            if eps > 0:
                wc = np.ones(c1 - c0, dtype=dtype) if p.w is None else p.w[c0:c1]
                G -= ((eps / v) * scale * kept_b)[:, None].astype(dtype) * wc
            for k0 in range(c0, c1, _MATMUL_COLUMNS):  # column slices: no (d, V) temporary
                k1 = min(k0 + _MATMUL_COLUMNS, c1)
                dH[rows] += G[:, k0 - c0:k1 - c0] @ W[:, k0:k1].T  # (n, d)
                dW[:, k0:k1] += Hb.T @ G[:, k0 - c0:k1 - c0]  # (d, k)
            del G
        E = None  # release the block before the next token block allocates its own
    if not (np.all(np.isfinite(losses)) and (dH is None or np.all(np.isfinite(dH)))):
        raise ValueError("H, W: the logits H @ W overflow this dtype; scale H or W down")
    return losses, dH, dW, skipped


def linear_cross_entropy(
    H: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    token_chunk: int = 256,
    vocab_chunk: int | None = 4096,
) -> NDArray[np.floating]:
    """cross_entropy(H @ W, target, …) computed in (token_chunk × vocab_chunk) blocks of logits."""
    p = _prepare(H, W, target, weight, ignore_index, reduction, label_smoothing,
                 token_chunk, vocab_chunk, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as a ValueError
        losses, _, _, _ = _run(p, want_grad=False)
    return _checks.reduce(losses, reduction, p.denominator)


def linear_cross_entropy_and_grad(
    H: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    token_chunk: int = 256,
    vocab_chunk: int | None = 4096,
    skip_below: float = 0.0,
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]:
    """(loss, ∂loss/∂H = G Wᵀ, ∂loss/∂W = Hᵀ G) with G = r σ(HW) − T, one block of logits at a time."""
    p = _prepare(H, W, target, weight, ignore_index, reduction, label_smoothing,
                 token_chunk, vocab_chunk, skip_below)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as a ValueError
        losses, dH, dW, _ = _run(p, want_grad=True)
    return _checks.reduce(losses, reduction, p.denominator), dH, dW


def linear_cross_entropy_grad(
    H: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    token_chunk: int = 256,
    vocab_chunk: int | None = 4096,
    skip_below: float = 0.0,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """(∂loss/∂H, ∂loss/∂W) = (G Wᵀ, Hᵀ G), G = ∂loss/∂Z = r σ(Z) − T; 'none' gives the sum's gradient."""
    _, dH, dW = linear_cross_entropy_and_grad(H, W, target, weight, ignore_index, reduction,
                                              label_smoothing, token_chunk, vocab_chunk, skip_below)
    return dH, dW


def skipped_blocks(
    H: ArrayLike,
    W: ArrayLike,
    target: ArrayLike,
    skip_below: float,
    token_chunk: int = 256,
    vocab_chunk: int | None = 4096,
) -> tuple[int, int]:
    """(blocks the backward pass skips because every σ < skip_below and no target, blocks in all)."""
    p = _prepare(H, W, target, None, -100, "sum", 0.0, token_chunk, vocab_chunk, skip_below)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as a ValueError
        _, _, _, skipped = _run(p, want_grad=True)
    n_tok, v = p.H.shape[0], p.W.shape[1]
    total = -(-n_tok // p.token_chunk) * -(-v // p.vocab_chunk)
    return skipped, total
