"""PyTorch's own behaviour, as chapter 10 teaches it: plain assertions against torch, nothing of xent.

The book states what torch.nn.functional.cross_entropy (and its neighbours) do. If a new PyTorch
changes one of those behaviours, a test here fails, so the suite finds out before a reader does.
Each test has a one-line comment saying what the book says. Everything runs in float64 on the CPU.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

N, C = 6, 4


def logits(*shape, seed=0, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=torch.float64)


def indices(*shape, seed=1, high=C):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, shape, generator=g)


def probabilities(*shape, seed=2, dim=1):
    return torch.softmax(logits(*shape, seed=seed), dim=dim)


def first_line(err: BaseException) -> str:
    return str(err).splitlines()[0]


A, T, P = logits(N, C), indices(N), probabilities(N, C)
W = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)


def nll_per_sample(A, T):
    """−log σ(A)[n, t_n] for each sample n."""
    return -torch.log_softmax(A, dim=1).gather(1, T[:, None])[:, 0]


# --- CrossEntropyLoss = LogSoftmax + NLLLoss -----------------------------------------------------

def test_cross_entropy_is_log_softmax_then_nll_loss():
    # Book: F.cross_entropy(A, t) = F.nll_loss(F.log_softmax(A, 1), t), value and gradient.
    a1, a2 = A.clone().requires_grad_(), A.clone().requires_grad_()
    l1 = F.cross_entropy(a1, T)
    l2 = F.nll_loss(F.log_softmax(a2, dim=1), T)
    l1.backward()
    l2.backward()
    assert torch.allclose(l1, l2, rtol=0, atol=1e-15)
    assert torch.allclose(a1.grad, a2.grad, rtol=0, atol=1e-15)


def test_module_and_function_agree():
    # Book: nn.CrossEntropyLoss(**options)(A, t) is F.cross_entropy(A, t, **options).
    opts = dict(weight=W, ignore_index=2, reduction="sum", label_smoothing=0.2)
    assert torch.equal(nn.CrossEntropyLoss(**opts)(A, T), F.cross_entropy(A, T, **opts))


def test_nll_loss_takes_log_probabilities_without_checking_them():
    # Book: NLLLoss only picks −input[n, t_n]; it does not check that its input is a log-softmax.
    assert torch.allclose(F.nll_loss(A, T), -A.gather(1, T[:, None]).mean(), rtol=0, atol=1e-15)


# --- class indices vs class probabilities: told apart by shape --------------------------------------

def test_index_and_probability_targets_agree_on_one_hot():
    # Book: a one-hot probability target gives the same loss as the class index.
    assert torch.allclose(F.cross_entropy(A, F.one_hot(T, C).double()), F.cross_entropy(A, T),
                          rtol=0, atol=1e-15)


def test_float_target_of_index_shape_is_rejected():
    # Book: a target of shape (N,) is read as class indices, so it must be integer (Long or Byte).
    with pytest.raises(RuntimeError) as err:
        F.cross_entropy(A, T.double())
    assert first_line(err.value) == "expected target dtype to be Long or Byte, but got Double"


def test_int32_index_target_is_rejected():
    # Book: PyTorch wants int64 (or uint8) class indices; xent accepts any integer dtype.
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.cross_entropy(A, T.int())
    assert torch.allclose(F.cross_entropy(A, T.to(torch.uint8)), F.cross_entropy(A, T), rtol=0, atol=0)


def test_integer_target_of_logits_shape_is_rejected():
    # Book: a target of the logits' shape is read as probabilities, so it must be floating point.
    with pytest.raises(RuntimeError) as err:
        F.cross_entropy(A, F.one_hot(T, C))
    assert first_line(err.value) == "Expected floating point type for target with class probabilities, got Long"


def test_probability_rows_are_not_checked():
    # Book: PyTorch does not check that probability targets are non-negative or sum to 1 (xent does).
    Y = torch.full((N, C), 0.5, dtype=torch.float64)  # rows sum to 2
    expected = -(Y * torch.log_softmax(A, 1)).sum(1).mean()
    assert torch.allclose(F.cross_entropy(A, Y), expected, rtol=0, atol=1e-14)
    Y_neg = torch.tensor([[1.5, -0.5, 0.0, 0.0]] * N, dtype=torch.float64)  # a negative entry
    expected = -(Y_neg * torch.log_softmax(A, 1)).sum(1).mean()
    assert torch.allclose(F.cross_entropy(A, Y_neg), expected, rtol=0, atol=1e-14)


# --- weight --------------------------------------------------------------------------------------

def test_weighted_mean_of_indices_divides_by_sum_of_counted_weights():
    # Book: with class indices, 'mean' is Σ w_{t_n} ℓ_n / Σ w_{t_n}, not / N.
    w_t = W[T]
    expected = (w_t * nll_per_sample(A, T)).sum() / w_t.sum()
    assert torch.allclose(F.cross_entropy(A, T, weight=W), expected, rtol=1e-14, atol=0)
    assert not torch.allclose(F.cross_entropy(A, T, weight=W), (w_t * nll_per_sample(A, T)).mean())


def test_weighted_mean_of_probabilities_divides_by_n():
    # Book: with class probabilities, 'mean' is Σ_n Σ_c w_c Y_nc (−log σ_nc) / N.
    expected = -(W * P * torch.log_softmax(A, 1)).sum() / N
    assert torch.allclose(F.cross_entropy(A, P, weight=W), expected, rtol=1e-14, atol=0)


def test_weighted_one_hot_probabilities_differ_from_weighted_indices():
    # Book: so the same one-hot targets give different weighted means as indices and as probabilities.
    onehot = F.one_hot(T, C).double()
    ratio = F.cross_entropy(A, onehot, weight=W) / F.cross_entropy(A, T, weight=W)
    assert torch.allclose(ratio, W[T].sum() / N, rtol=1e-14, atol=0)


def test_weight_must_have_one_entry_per_class():
    # Book: weight has shape (C,).
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 4 classes"):
        F.cross_entropy(A, T, weight=W[:2])


def test_zero_counted_weights_give_nan_mean():
    # Book: if the counted targets' weights sum to 0, PyTorch's mean is 0/0 = nan (xent raises).
    assert torch.isnan(F.cross_entropy(A, T, weight=torch.zeros(C, dtype=torch.float64)))
    assert F.cross_entropy(A, T, weight=torch.zeros(C, dtype=torch.float64), reduction="sum") == 0


# --- ignore_index ----------------------------------------------------------------------------------

def test_default_ignore_index_is_minus_100():
    # Book: the default ignore_index is −100; such positions are left out of the sum and of the count.
    t = T.clone()
    t[::2] = -100
    kept = t != -100
    expected = nll_per_sample(A[kept], t[kept]).mean()
    assert torch.allclose(F.cross_entropy(A, t), expected, rtol=1e-14, atol=0)


def test_ignore_index_ignores_positions_not_classes():
    # Book: ignore_index = c drops the samples whose target is c; class c stays in every softmax.
    c = int(T[0])
    kept = T != c
    expected = nll_per_sample(A[kept], T[kept]).mean()
    assert torch.allclose(F.cross_entropy(A, T, ignore_index=c), expected, rtol=1e-14, atol=0)
    a = A.clone().requires_grad_()
    F.cross_entropy(a, T, ignore_index=c).backward()
    assert torch.all(a.grad[~kept] == 0) and torch.all(a.grad[kept][:, c] != 0)


def test_ignored_positions_lose_no_weight_in_the_denominator():
    # Book: with weight and ignore_index, 'mean' divides by the weights of the counted targets only.
    t = T.clone()
    t[1] = -100
    kept = t != -100
    w_t = W[t[kept]]
    expected = (w_t * nll_per_sample(A[kept], t[kept])).sum() / w_t.sum()
    assert torch.allclose(F.cross_entropy(A, t, weight=W), expected, rtol=1e-14, atol=0)


def test_every_target_ignored():
    # Book: if every target is ignored, 'mean' is 0/0 = nan (gradient 0, with or without smoothing),
    # 'sum' is 0 and 'none' is all zeros.
    t = torch.full((N,), -100)
    for smoothing in (0.0, 0.1):
        a = A.clone().requires_grad_()
        loss = F.cross_entropy(a, t, label_smoothing=smoothing)
        loss.backward()
        assert torch.isnan(loss) and torch.equal(a.grad, torch.zeros_like(A))
    assert F.cross_entropy(A, t, reduction="sum") == 0
    assert torch.equal(F.cross_entropy(A, t, reduction="none"), torch.zeros(N, dtype=torch.float64))


def test_ignore_index_is_rejected_for_probability_targets():
    # Book: a non-negative ignore_index is refused with probability targets (nothing to compare it with).
    with pytest.raises(RuntimeError) as err:
        F.cross_entropy(A, P, ignore_index=0)
    assert first_line(err.value) == "ignore_index is not supported for floating point target"


def test_negative_ignore_index_is_accepted_and_unused_for_probability_targets():
    # Book: a negative ignore_index (such as the default −100) is accepted and has no effect.
    for ignore_index in (-1, -5, -100):
        assert torch.equal(F.cross_entropy(A, P, ignore_index=ignore_index), F.cross_entropy(A, P))


def test_out_of_range_index_is_an_index_error():
    # Book: a class index ≥ C (or negative and not ignore_index) is "out of bounds".
    for bad in (C, -1):
        t = T.clone()
        t[3] = bad
        with pytest.raises(IndexError) as err:
            F.cross_entropy(A, t)
        assert first_line(err.value) == f"Target {bad} is out of bounds."


def test_one_based_labels_fail_only_when_label_c_occurs():
    # Book: 1-based labels 1..C raise only in a batch that contains C; otherwise they train silently.
    t1 = torch.tensor([1, 2, 3, 1, 2, 3])  # labels 1..C with C = 4; this batch happens to have no 4
    assert torch.isfinite(F.cross_entropy(A, t1))
    with pytest.raises(IndexError, match="Target 4 is out of bounds."):
        F.cross_entropy(A, torch.tensor([1, 2, 3, 4, 1, 2]))


def test_seed_example_target_2_with_two_classes():
    # Book (errata): logits [[1, 2], [3, 4]] with targets [1, 2]: "Target 2 is out of bounds."
    with pytest.raises(IndexError, match="Target 2 is out of bounds."):
        nn.CrossEntropyLoss()(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([1, 2]))


# --- label_smoothing ---------------------------------------------------------------------------------

def test_label_smoothing_is_the_smoothed_target():
    # Book: label_smoothing ε replaces the one-hot y by (1 − ε) y + ε / C.
    eps = 0.2
    smoothed = (1 - eps) * F.one_hot(T, C).double() + eps / C
    assert torch.allclose(F.cross_entropy(A, T, label_smoothing=eps), F.cross_entropy(A, smoothed),
                          rtol=1e-14, atol=0)


def test_label_smoothing_of_probability_targets():
    # Book: probability targets are smoothed the same way, (1 − ε) Y + ε / C.
    eps = 0.3
    assert torch.allclose(F.cross_entropy(A, P, label_smoothing=eps),
                          F.cross_entropy(A, (1 - eps) * P + eps / C), rtol=1e-14, atol=0)


def test_smoothing_with_weight_of_probability_targets_divides_by_n():
    # Book: probability targets with weight and ε: ℓ_n = −Σ_c w_c ((1 − ε) Y_nc + ε/C) log σ_nc, mean / N.
    eps = 0.3
    expected = -(W * ((1 - eps) * P + eps / C) * torch.log_softmax(A, 1)).sum() / N
    assert torch.allclose(F.cross_entropy(A, P, weight=W, label_smoothing=eps), expected,
                          rtol=1e-14, atol=0)


def test_weight_scales_the_smoothing_term_and_mean_divides_by_counted_weights():
    # Book: ℓ_n = (1 − ε) w_t (−log σ_t) + (ε / C) Σ_c w_c (−log σ_c); 'mean' divides by Σ w_{t_n}.
    eps = 0.25
    t = T.clone()
    t[0] = -100
    kept = t != -100
    logp = torch.log_softmax(A[kept], 1)
    tk = t[kept]
    per = (1 - eps) * W[tk] * -logp.gather(1, tk[:, None])[:, 0] + eps / C * -(W * logp).sum(1)
    expected = per.sum() / W[tk].sum()
    got = F.cross_entropy(A, t, weight=W, label_smoothing=eps)
    assert torch.allclose(got, expected, rtol=1e-14, atol=0)
    none = F.cross_entropy(A, t, weight=W, label_smoothing=eps, reduction="none")
    assert none[0] == 0 and torch.allclose(none[kept], per, rtol=1e-14, atol=0)


def test_label_smoothing_above_one_is_rejected():
    # Book: PyTorch refuses ε > 1 (for both target kinds); ε = 1 gives the uniform target.
    for target in (T, P):
        with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
            F.cross_entropy(A, target, label_smoothing=1.5)
    uniform = torch.full((N, C), 1 / C, dtype=torch.float64)
    assert torch.allclose(F.cross_entropy(A, T, label_smoothing=1.0), F.cross_entropy(A, uniform),
                          rtol=1e-14, atol=0)


def test_negative_label_smoothing_is_silently_no_smoothing():
    # Book: a negative ε is accepted without a word and treated as 0 (xent refuses it).
    t = T.clone()
    t[0] = -100
    for target, kw in ((t, {}), (t, {"weight": W}), (P, {"weight": W})):
        a1, a2 = A.clone().requires_grad_(), A.clone().requires_grad_()
        smoothed = F.cross_entropy(a1, target, label_smoothing=-0.1, **kw)
        plain = F.cross_entropy(a2, target, **kw)
        smoothed.backward()
        plain.backward()
        assert torch.equal(smoothed, plain) and torch.equal(a1.grad, a2.grad)


def test_smoothed_loss_is_minimised_at_the_smoothed_target():
    # Book: the smoothed loss is smallest where σ(z) equals the smoothed target (a finite logit gap).
    eps, t = 0.1, 2
    gap = math.log((1 - eps + eps / C) / (eps / C))
    z = torch.zeros(1, C, dtype=torch.float64)
    z[0, t] = gap
    z.requires_grad_()
    F.cross_entropy(z, torch.tensor([t]), label_smoothing=eps).backward()
    assert z.grad.abs().max() < 1e-15


# --- reduction ---------------------------------------------------------------------------------------

def test_reductions():
    # Book: 'none' returns one loss per target, 'sum' their sum, 'mean' (the default) their mean.
    none = F.cross_entropy(A, T, reduction="none")
    assert none.shape == (N,)
    assert torch.allclose(none, nll_per_sample(A, T), rtol=0, atol=1e-15)
    assert torch.allclose(F.cross_entropy(A, T, reduction="sum"), none.sum(), rtol=0, atol=1e-14)
    assert torch.allclose(F.cross_entropy(A, T), none.mean(), rtol=0, atol=1e-15)


def test_unknown_reduction_is_a_value_error():
    # Book: an unknown reduction is a ValueError.
    with pytest.raises(ValueError, match="average is not a valid value for reduction"):
        F.cross_entropy(A, T, reduction="average")


# --- shapes: K-dimensional and unbatched ----------------------------------------------------------

def test_k_dimensional_input_is_per_position_classification():
    # Book: logits (N, C, d1, d2) and targets (N, d1, d2) are N·d1·d2 samples; mean over positions.
    Ak, Tk = logits(2, C, 3, 5), indices(2, 3, 5)
    flat_A = Ak.movedim(1, -1).reshape(-1, C)
    assert torch.allclose(F.cross_entropy(Ak, Tk), F.cross_entropy(flat_A, Tk.reshape(-1)),
                          rtol=1e-14, atol=0)
    assert F.cross_entropy(Ak, Tk, reduction="none").shape == (2, 3, 5)


def test_k_dimensional_probability_targets_divide_by_every_position():
    # Book: probability targets (N, C, d1, d2): 'mean' divides by N·d1·d2, the number of positions.
    Ak, Pk = logits(2, C, 3, 5), probabilities(2, C, 3, 5)
    expected = -(W[None, :, None, None] * Pk * torch.log_softmax(Ak, 1)).sum() / (2 * 3 * 5)
    assert torch.allclose(F.cross_entropy(Ak, Pk, weight=W), expected, rtol=1e-14, atol=0)


def test_k_dimensional_class_axis_is_dim_1():
    # Book: the class axis is dim 1, not the last one; a target with the spatial axes swapped fails.
    Ak = logits(2, C, 3, 5)
    with pytest.raises(RuntimeError, match="size mismatch"):
        F.cross_entropy(Ak, indices(2, 5, 3))


def test_unbatched_input():
    # Book: logits (C,) with a 0-d target are one sample; probabilities (C,) likewise.
    z, t = A[0], T[0]
    assert torch.allclose(F.cross_entropy(z, t), F.cross_entropy(z[None], t[None]), rtol=0, atol=0)
    assert torch.allclose(F.cross_entropy(z, P[0]), F.cross_entropy(z[None], P[:1]), rtol=0, atol=0)


def test_batch_size_mismatch_is_a_value_error():
    # Book: targets and logits must agree on N.
    with pytest.raises(ValueError, match=r"Expected input batch_size \(6\) to match target batch_size \(5\)"):
        F.cross_entropy(A, T[:5])


# --- pitfalls ---------------------------------------------------------------------------------------

def test_double_softmax_is_accepted_silently_and_has_a_floor():
    # Book: softmax before the loss raises nothing, and the loss can never go below log(1 + (C−1)/e).
    confident = torch.tensor([[50.0, 0, 0, 0]], dtype=torch.float64)
    double = F.cross_entropy(torch.softmax(confident, 1), torch.tensor([0]))
    assert torch.allclose(double, torch.tensor(math.log(1 + (C - 1) / math.e), dtype=torch.float64),
                          rtol=1e-12, atol=0)
    assert F.cross_entropy(confident, torch.tensor([0])) < 1e-20
    many = logits(2000, C, seed=5, scale=10.0)  # random logits, up to confidently right or wrong
    doubles = F.cross_entropy(torch.softmax(many, 1), indices(2000, seed=6), reduction="none")
    assert doubles.min() >= math.log(1 + (C - 1) / math.e) - 1e-12  # equal up to rounding at a ≈ e_t


def test_double_softmax_shrinks_the_gradient():
    # Book: the gradient through the extra softmax is smaller, and vanishes when confidently wrong.
    wrong = torch.tensor([[-20.0, 20, 0, 0]], dtype=torch.float64, requires_grad=True)
    F.cross_entropy(torch.softmax(wrong, 1), torch.tensor([0])).backward()
    assert wrong.grad.abs().max() < 1e-6
    right_way = wrong.detach().clone().requires_grad_()
    F.cross_entropy(right_way, torch.tensor([0])).backward()
    assert right_way.grad[0, 0] < -0.99


def test_bce_with_logits_rejects_integer_targets():
    # Book (errata): BCEWithLogitsLoss needs floating-point targets; integer targets fail.
    with pytest.raises(RuntimeError) as err:
        nn.BCEWithLogitsLoss()(torch.zeros(4, 1), torch.tensor([[0], [1], [0], [1]]))
    assert first_line(err.value) == "result type Float can't be cast to the desired output type Long"
    ok = nn.BCEWithLogitsLoss()(torch.zeros(4, 1), torch.tensor([[0.0], [1.0], [0.0], [1.0]]))
    assert torch.allclose(ok, torch.tensor(math.log(2)), rtol=1e-6, atol=0)


def test_kl_div_takes_log_probabilities_first():
    # Book: F.kl_div(input, target) is Σ target·(log target − input): input is log q, target is p.
    p, q = probabilities(N, C, seed=3), probabilities(N, C, seed=4)
    kl_pq = (p * (p.log() - q.log())).sum() / N
    assert torch.allclose(F.kl_div(q.log(), p, reduction="batchmean"), kl_pq, rtol=1e-14, atol=0)


def test_kl_div_with_probabilities_as_input_goes_negative_silently():
    # Book: passing probabilities (not log-probabilities) as input raises nothing and can go negative.
    p, q = probabilities(N, C, seed=3), probabilities(N, C, seed=4)
    assert F.kl_div(q, p, reduction="batchmean") < 0


def test_kl_div_mean_reduction_warns_and_divides_by_every_element():
    # Book: reduction='mean' divides by N·C (and warns); 'batchmean' is the KL divergence per sample.
    p, q = probabilities(N, C, seed=3), probabilities(N, C, seed=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mean = F.kl_div(q.log(), p)
    assert any("batchmean" in str(w.message) for w in caught)
    assert torch.allclose(mean * C, F.kl_div(q.log(), p, reduction="batchmean"), rtol=1e-14, atol=0)
