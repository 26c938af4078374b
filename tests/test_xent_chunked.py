"""Unit tests of xent.chunked: online log-sum-exp states and the fused linear + cross-entropy.

References: the naive computation (xent.cross_entropy on the full logits H @ W, xent.logsumexp),
PyTorch autograd in float64 for the gradients with respect to H and W, and SymPy for the merge rule.
Every option that makes sense without the N×V matrix (weight, ignore_index, label_smoothing,
reduction) is crossed with token-only, vocabulary-only and two-way chunking.
"""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import xent

# Any RuntimeWarning (overflow, 0/0, log 0) is a failure: stable code must not warn.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TOL = dict(rtol=1e-12, atol=1e-14)
N, D, V = 23, 5, 37
CHUNKS = [(256, None), (7, None), (256, 5), (4, 6), (1, 1), (23, 37)]  # (token_chunk, vocab_chunk)
OPTIONS = [dict(), dict(label_smoothing=0.2), dict(weight="w"), dict(weight="w", label_smoothing=0.7)]


def problem(seed=0, n=N, d=D, v=V, dtype=np.float64, ignore_every=4):
    """Seeded H (n, d), W (d, v), targets (n,) with every `ignore_every`-th entry = -100, class weights."""
    rng = np.random.default_rng(seed)
    H = rng.normal(size=(n, d)).astype(dtype)
    W = rng.normal(scale=1.5, size=(d, v)).astype(dtype)
    t = rng.integers(0, v, size=n)
    if ignore_every:
        t[::ignore_every] = -100
    w = rng.uniform(0.25, 2.0, size=v)
    return H, W, t, w


def torch_reference(H, W, t, reduction, **kw):
    """Loss, ∂/∂H and ∂/∂W by autograd on F.cross_entropy(H @ W) in float64 (gradient of the sum for 'none')."""
    Ht = torch.tensor(H, dtype=torch.float64, requires_grad=True)
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    if "weight" in kw:
        kw = dict(kw, weight=torch.tensor(kw["weight"], dtype=torch.float64))
    out = F.cross_entropy(Ht @ Wt, torch.tensor(t), reduction=reduction, **kw)
    out.sum().backward()
    return out.detach().numpy(), Ht.grad.numpy(), Wt.grad.numpy()


def resolve(opts, w):
    return {k: (w if v == "w" else v) for k, v in opts.items()}


# --------------------------------------------------------------------------- online log-sum-exp


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 37, 100])
def test_chunked_logsumexp_equals_two_pass(chunk):
    z = np.random.default_rng(1).normal(scale=20.0, size=(4, 37))
    np.testing.assert_allclose(xent.chunked_logsumexp(z, chunk), xent.logsumexp(z), **TOL)
    np.testing.assert_allclose(xent.chunked_logsumexp(z.T, chunk, axis=0), xent.logsumexp(z, axis=1), **TOL)
    np.testing.assert_allclose(xent.chunked_logsumexp(z, chunk),
                               torch.logsumexp(torch.tensor(z), dim=-1).numpy(), **TOL)


def test_chunked_logsumexp_is_stable_and_keeps_float32():
    z = np.array([[1000.0, 999.0, -1000.0, 1000.0]], dtype=np.float32)
    out = xent.chunked_logsumexp(z, 1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, xent.logsumexp(z), rtol=1e-6)


def test_merge_in_any_order_equals_lse():
    rng = np.random.default_rng(2)
    z = rng.normal(scale=30.0, size=(3, 40))
    pieces = np.array_split(z, 6, axis=1)
    states = [xent.lse_state(p) for p in pieces]
    want = xent.logsumexp(z)
    for order in [range(6), [5, 0, 3, 1, 4, 2], [2, 2 - 1, 0, 5, 4, 3]]:
        acc = None
        for i in order:
            acc = states[i] if acc is None else xent.lse_merge(acc, states[i])
        np.testing.assert_allclose(xent.lse_value(acc), want, **TOL)
    # a balanced tree, as a parallel reduction would merge
    left = xent.lse_merge(xent.lse_merge(states[0], states[1]), states[2])
    right = xent.lse_merge(states[3], xent.lse_merge(states[4], states[5]))
    np.testing.assert_allclose(xent.lse_value(xent.lse_merge(right, left)), want, **TOL)


def test_lse_state_fields():
    st = xent.lse_state(np.array([[0.0, np.log(3.0)], [5.0, 5.0]]))
    assert isinstance(st, xent.LSEState)
    np.testing.assert_allclose(st.m, [np.log(3.0), 5.0], **TOL)
    np.testing.assert_allclose(st.s, [4.0 / 3.0, 2.0], **TOL)
    manual = xent.LSEState(np.array(1.0), np.array(2.0))
    assert xent.lse_value(manual) == pytest.approx(1.0 + np.log(2.0), rel=1e-15)


def test_merge_rule_symbolically():
    """(m1, s1) ⊕ (m2, s2) represents the LSE of the union, whichever maximum is larger."""
    m1, m2, s1, s2 = sp.symbols("m1 m2 s1 s2", positive=True)
    for M in (m1, m2):  # M = max(m1, m2), either case
        merged = s1 * sp.exp(m1 - M) + s2 * sp.exp(m2 - M)
        assert sp.simplify(sp.exp(M) * merged - (sp.exp(m1) * s1 + sp.exp(m2) * s2)) == 0


def test_lse_merge_rejects_bad_states():
    good = xent.lse_state(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="a.s"):
        xent.lse_merge((np.zeros(2), np.array([1.0, 0.0])), good)
    with pytest.raises(ValueError, match="b.m"):
        xent.lse_merge(good, (np.zeros(3), np.ones(3)))
    with pytest.raises(ValueError, match="b.m"):
        xent.lse_merge(good, (np.array([0.0, np.nan]), np.ones(2)))
    with pytest.raises(ValueError, match="a"):
        xent.lse_merge((np.zeros(2),), good)
    with pytest.raises(ValueError, match="a.s"):
        xent.lse_merge((np.zeros(2), np.ones(3)), good)
    with pytest.raises(ValueError, match="state.s"):
        xent.lse_value((np.zeros(2), np.array([1.0, -1.0])))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, None])
def test_chunked_logsumexp_rejects_bad_chunk(bad):
    with pytest.raises(ValueError, match="chunk_size"):
        xent.chunked_logsumexp(np.zeros(4), bad)


def test_chunked_logsumexp_rejects_bad_z():
    with pytest.raises(ValueError, match="z"):
        xent.chunked_logsumexp(np.array([0.0, np.inf]), 1)
    with pytest.raises(ValueError, match="z"):
        xent.chunked_logsumexp(np.zeros((2, 0)), 1)
    with pytest.raises(ValueError, match="z"):
        xent.lse_state(np.array(3.0))


# --------------------------------------------------------------------------- fused linear + CE


@pytest.mark.parametrize("chunks", CHUNKS, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_equals_naive_and_torch(chunks, reduction, opts):
    H, W, t, w = problem()
    kw = resolve(opts, w)
    tc, vc = chunks
    naive = xent.cross_entropy(H @ W, t, reduction=reduction, **kw)
    g_naive = xent.cross_entropy_grad(H @ W, t, reduction=reduction, **kw)  # (N, V)
    loss, dH, dW = xent.linear_cross_entropy_and_grad(H, W, t, reduction=reduction,
                                                      token_chunk=tc, vocab_chunk=vc, **kw)
    ref_loss, ref_dH, ref_dW = torch_reference(H, W, t, reduction, **kw)
    np.testing.assert_allclose(loss, naive, **TOL)
    np.testing.assert_allclose(loss, ref_loss, **TOL)
    np.testing.assert_allclose(dH, g_naive @ W.T, **TOL)
    np.testing.assert_allclose(dW, H.T @ g_naive, **TOL)
    np.testing.assert_allclose(dH, ref_dH, **TOL)
    np.testing.assert_allclose(dW, ref_dW, **TOL)
    only_loss = xent.linear_cross_entropy(H, W, t, reduction=reduction, token_chunk=tc, vocab_chunk=vc, **kw)
    np.testing.assert_allclose(only_loss, loss, **TOL)
    gH, gW = xent.linear_cross_entropy_grad(H, W, t, reduction=reduction, token_chunk=tc, vocab_chunk=vc, **kw)
    np.testing.assert_array_equal(gH, dH)
    np.testing.assert_array_equal(gW, dW)


def test_ignored_tokens_contribute_nothing():
    H, W, t, _ = problem()
    losses = xent.linear_cross_entropy(H, W, t, reduction="none", vocab_chunk=5, label_smoothing=0.3)
    assert np.all(losses[t == -100] == 0) and not np.any(np.signbit(losses[t == -100]))
    dH, _ = xent.linear_cross_entropy_grad(H, W, t, vocab_chunk=5, label_smoothing=0.3)
    assert np.all(dH[t == -100] == 0)
    custom = np.where(t == -100, 7, t)  # another ignore_index
    custom[t == 7] = 0
    a = xent.linear_cross_entropy(H, W, np.where(custom == 7, -100, custom))
    b = xent.linear_cross_entropy(H, W, custom, ignore_index=7)
    assert a == pytest.approx(b, rel=1e-14)


def test_float32_stays_float32_and_is_accurate():
    H, W, t, _ = problem(seed=3, n=64, d=16, v=300, dtype=np.float32)
    loss, dH, dW = xent.linear_cross_entropy_and_grad(H, W, t, token_chunk=16, vocab_chunk=64)
    assert loss.dtype == dH.dtype == dW.dtype == np.float32
    ref_loss, ref_dH, ref_dW = torch_reference(H.astype(np.float64), W.astype(np.float64), t, "mean")
    assert abs(loss - ref_loss) < 1e-5 * abs(ref_loss)
    np.testing.assert_allclose(dH, ref_dH, rtol=0, atol=1e-5 * np.abs(ref_dH).max())
    np.testing.assert_allclose(dW, ref_dW, rtol=0, atol=1e-5 * np.abs(ref_dW).max())


def test_large_logits_do_not_overflow():
    H, W, t, _ = problem(seed=4, ignore_every=0)
    H = H * 300.0  # logits in the thousands
    loss, dH, dW = xent.linear_cross_entropy_and_grad(H, W, t, token_chunk=5, vocab_chunk=4)
    ref_loss, ref_dH, ref_dW = torch_reference(H, W, t, "mean")
    assert np.isfinite(loss) and loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(dH, ref_dH, rtol=1e-10, atol=1e-10)


def test_overflowing_logits_raise():
    H, W, t, _ = problem(ignore_every=0)
    with pytest.raises(ValueError, match="overflow"):
        xent.linear_cross_entropy(H.astype(np.float32) * 1e20, W.astype(np.float32) * 1e20, t)


def test_skip_below_changes_nothing_measurable():
    """Blocks whose σ are all below 2^-24 (and hold no target) are skipped; the gradients barely move."""
    rng = np.random.default_rng(5)
    n, d, v = 64, 8, 512
    H = rng.normal(size=(n, d))
    W = rng.normal(size=(d, v))
    W[0, 128:] = -40.0  # with H[:, 0] = 1, classes 128.. get logits around −40: σ < 2^-24
    H[:, 0] = 1.0
    t = rng.integers(0, 128, size=n)
    full_H, full_W = xent.linear_cross_entropy_grad(H, W, t, token_chunk=16, vocab_chunk=64)
    skip_H, skip_W = xent.linear_cross_entropy_grad(H, W, t, token_chunk=16, vocab_chunk=64, skip_below=2.0**-24)
    skipped, total = xent.skipped_blocks(H, W, t, 2.0**-24, token_chunk=16, vocab_chunk=64)
    assert total == 4 * 8 and skipped == 4 * 6
    assert np.abs(skip_H - full_H).max() < 2.0**-24 * np.abs(full_H).max()
    assert np.abs(skip_W[:, :128] - full_W[:, :128]).max() == 0
    assert np.abs(skip_W[:, 128:]).max() == 0 and np.abs(full_W[:, 128:]).max() < 1e-12
    none = xent.skipped_blocks(H, W, t, 1e-300, token_chunk=16, vocab_chunk=64)
    assert none == (0, 32)


def test_memory_stays_at_one_block():
    """tracemalloc: the chunked path never allocates anything near the N×V logits."""
    H, W, t, _ = problem(seed=6, n=512, d=8, v=4096, ignore_every=0)
    logits_bytes = H.shape[0] * W.shape[1] * 8
    tracemalloc.start()
    xent.linear_cross_entropy_and_grad(H, W, t, token_chunk=64, vocab_chunk=512)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    outputs = H.nbytes + W.nbytes  # dH and dW
    assert peak < outputs + logits_bytes / 8


# --------------------------------------------------------------------------- validation


def test_rejects_bad_arguments():
    H, W, t, w = problem()
    cases = {
        "H": lambda: xent.linear_cross_entropy(H[0], W, t),
        "W": lambda: xent.linear_cross_entropy(H, W[:, 0], t),
        "W ": lambda: xent.linear_cross_entropy(H, W[:-1], t),
        "W  ": lambda: xent.linear_cross_entropy(H, W[:, :0], t),
        "H ": lambda: xent.linear_cross_entropy(np.where(H > 1, np.nan, H), W, t),
        "target": lambda: xent.linear_cross_entropy(H, W, t[:-1]),
        "target ": lambda: xent.linear_cross_entropy(H, W, t.astype(float)),
        "target  ": lambda: xent.linear_cross_entropy(H, W, np.where(t == -100, V, t)),
        "target   ": lambda: xent.linear_cross_entropy(H, W, np.full(N, -100)),
        "weight": lambda: xent.linear_cross_entropy(H, W, t, weight=w[:-1]),
        "weight ": lambda: xent.linear_cross_entropy(H, W, t, weight=np.zeros(V)),
        "reduction": lambda: xent.linear_cross_entropy(H, W, t, reduction="avg"),
        "label_smoothing": lambda: xent.linear_cross_entropy(H, W, t, label_smoothing=1.5),
        "token_chunk": lambda: xent.linear_cross_entropy(H, W, t, token_chunk=0),
        "vocab_chunk": lambda: xent.linear_cross_entropy(H, W, t, vocab_chunk=2.0),
        "skip_below": lambda: xent.linear_cross_entropy_grad(H, W, t, skip_below=1.0),
        "skip_below ": lambda: xent.linear_cross_entropy_and_grad(H, W, t, skip_below=1e-8, label_smoothing=0.1),
    }
    for name, call in cases.items():
        with pytest.raises(ValueError, match=name.strip()):
            call()


def test_out_of_range_message_names_the_class():
    H, W, t, _ = problem()
    bad = t.copy()
    bad[3] = V + 2
    with pytest.raises(ValueError, match=rf"class index {V + 2} is out of range \[0, {V}\)"):
        xent.linear_cross_entropy(H, W, bad)


def test_mixed_dtypes_promote():
    H, W, t, _ = problem()
    loss = xent.linear_cross_entropy(H.astype(np.float32), W, t)
    assert loss.dtype == np.float64


@pytest.mark.parametrize("tc, vc", itertools.product([1, 3, 64], [1, 4, None]))
def test_every_block_shape_gives_the_same_loss(tc, vc):
    H, W, t, _ = problem(seed=7)
    np.testing.assert_allclose(xent.linear_cross_entropy(H, W, t, token_chunk=tc, vocab_chunk=vc),
                               xent.cross_entropy(H @ W, t), **TOL)


# --------------------------------------------------------------------------- xent.parallel


def test_shard_range_partitions_the_vocabulary():
    from xent import parallel

    for v in (1, 7, 10, 1000):
        for p in range(1, min(v, 9) + 1):
            ranges = [parallel.shard_range(v, p, r) for r in range(p)]
            assert ranges[0][0] == 0 and ranges[-1][1] == v
            assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
            sizes = [hi - lo for lo, hi in ranges]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_shard_range_and_runner_reject_bad_arguments():
    from xent import parallel

    with pytest.raises(ValueError, match="world_size"):
        parallel.shard_range(3, 4, 0)
    with pytest.raises(ValueError, match="rank"):
        parallel.shard_range(10, 2, 2)
    with pytest.raises(ValueError, match="v"):
        parallel.shard_range(0, 1, 0)
    with pytest.raises(ValueError, match="world_size"):
        parallel.run_vocab_parallel(0, (4, 2, 3), [{}])
    with pytest.raises(ValueError, match="start_method"):
        parallel.run_vocab_parallel(1, (4, 2, 3), [{}], start_method="thread")
    for bad in (0, -1.0, True, "60"):
        with pytest.raises(ValueError, match="timeout_s"):
            parallel.run_vocab_parallel(1, (4, 2, 3), [{}], timeout_s=bad)


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="fork start method not available")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Python 3.12+: fork with threads
def test_vocab_parallel_never_hangs():
    """Workers that do not finish within timeout_s are killed and TimeoutError is raised."""
    import multiprocessing

    from xent import parallel

    before = set(multiprocessing.active_children())
    with pytest.raises(TimeoutError, match="timeout_s"):
        parallel.run_vocab_parallel(2, (40, 6, 29), [{}], start_method="fork", timeout_s=1e-3)
    assert not any(p.is_alive() for p in set(multiprocessing.active_children()) - before)


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="fork start method not available")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Python 3.12+: fork with threads
def test_vocab_parallel_on_gloo_equals_one_process():
    """Two gloo processes on loopback: loss and gradients = xent in one process, float64."""
    from xent import parallel

    size = (40, 6, 29)
    configs = [{}, {"reduction": "sum"}, {"reduction": "none", "label_smoothing": 0.2}, {"ignore_every": 0}]
    run = parallel.run_vocab_parallel(2, size, configs, gather_check=True, start_method="fork")
    assert run["shards"] == [(0, 15), (15, 29)]
    for cfg, res in zip(configs, run["configs"]):
        H, W, t = parallel.make_problem(*size, ignore_every=cfg.get("ignore_every", 5))
        opts = {k: v for k, v in cfg.items() if k != "ignore_every"}
        loss, dH, dW = xent.linear_cross_entropy_and_grad(H, W, t, **opts)
        np.testing.assert_allclose(res["loss"], loss, **TOL)
        np.testing.assert_allclose(res["dH"], dH, **TOL)
        np.testing.assert_allclose(res["dW"], dW, **TOL)
        assert res["losses_agree"] and res["dH_agree"]
        calls = 4 if cfg.get("label_smoothing") else 3
        assert res["loss_calls"] == calls and res["loss_bytes"] == calls * size[0] * 8
        assert res["dH_bytes"] == size[0] * size[1] * 8
    assert run["gather_bytes"] == size[0] * 2 * 15 * 8  # two shards padded to the widest, 15 columns
