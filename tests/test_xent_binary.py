"""Unit tests of xent's binary cross-entropy with logits: the claims chapter 8 makes about it.

References: 50-digit mpmath for accuracy, torch.nn.functional.binary_cross_entropy_with_logits
in float64 with autograd for the options, SymPy-free closed forms for the pos_weight optimum.
(The broad option-by-option torch comparison lives in test_xent_loss.py.)
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xent

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

mpmath.mp.dps = 50
LOGITS = np.array([-1e4, -1000, -720, -100, -40, -37, -5, -0.5, -1e-8, 0, 1e-8, 0.5, 5, 37, 40, 100, 720, 1000, 1e4])
TARGETS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def exact_bce(z: float, y: float) -> mpmath.mpf:
    """y log(1 + e^-z) + (1 - y) log(1 + e^z), with 50 significant digits."""
    z, y = mpmath.mpf(float(z)), mpmath.mpf(float(y))
    return y * mpmath.log1p(mpmath.exp(-z)) + (1 - y) * mpmath.log1p(mpmath.exp(z))


def ulps(x: float, exact: mpmath.mpf) -> float:
    """|x - exact| in units of the last place of the float64 nearest to exact."""
    return float(abs(mpmath.mpf(float(x)) - exact) / np.spacing(abs(float(exact))))


def test_loss_within_two_ulp_of_mpmath():
    Z, Y = (g.ravel() for g in np.meshgrid(LOGITS, TARGETS))
    loss = xent.binary_cross_entropy_with_logits(Z, Y, reduction="none")
    worst = max(ulps(v, exact_bce(z, y)) for v, z, y in zip(loss, Z, Y))
    assert np.all(np.isfinite(loss)) and worst <= 2, f"worst error {worst:.2f} ULP"


def test_sigmoid_and_log_sigmoid_within_two_ulp_of_mpmath():
    for z in LOGITS:
        exact = 1 / (1 + mpmath.exp(-mpmath.mpf(float(z))))
        exact_log = -mpmath.log1p(mpmath.exp(-mpmath.mpf(float(z))))
        assert ulps(xent.sigmoid(z), exact) <= 2, z
        assert ulps(xent.log_sigmoid(z), exact_log) <= 2, z


def test_gradient_is_sigmoid_minus_target_to_round_off():
    Z, Y = (g.ravel() for g in np.meshgrid(LOGITS, TARGETS))
    grad = xent.binary_cross_entropy_with_logits_grad(Z, Y, reduction="sum")
    exact = [1 / (1 + mpmath.exp(-mpmath.mpf(float(z)))) - mpmath.mpf(float(y)) for z, y in zip(Z, Y)]
    assert max(abs(float(g - e)) for g, e in zip(grad, exact)) < 2e-16


def test_gradient_for_hard_targets_keeps_its_digits():
    """(1 - y) sigma(z) - y sigma(-z): sigma(z) for y = 0 and -sigma(-z) for y = 1, to 2 ULP."""
    for y in (0.0, 1.0):
        grad = xent.binary_cross_entropy_with_logits_grad(LOGITS, np.full(LOGITS.shape, y), reduction="sum")
        for g, z in zip(grad, LOGITS):
            zz = mpmath.mpf(float(z))
            exact = -1 / (1 + mpmath.exp(zz)) if y == 1.0 else 1 / (1 + mpmath.exp(-zz))  # no 1 - s
            if exact != 0 and abs(exact) > mpmath.mpf(np.finfo(np.float64).tiny):  # normal range
                assert ulps(g, exact) <= 2, (z, y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mean_divides_by_the_number_of_entries_not_the_weights(reduction):
    rng = np.random.default_rng(0)
    z, y = rng.normal(scale=3, size=(4, 3)), rng.uniform(size=(4, 3))
    weight, pos_weight = rng.uniform(0.1, 3, size=(4, 1)), rng.uniform(0.5, 5, size=3)
    zt = torch.tensor(z, requires_grad=True)
    ref = F.binary_cross_entropy_with_logits(zt, torch.tensor(y), weight=torch.tensor(weight),
                                             pos_weight=torch.tensor(pos_weight), reduction=reduction)
    ref.sum().backward()
    kw = dict(weight=weight, pos_weight=pos_weight, reduction=reduction)
    loss = xent.binary_cross_entropy_with_logits(z, y, **kw)
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(xent.binary_cross_entropy_with_logits_grad(z, y, **kw), zt.grad.numpy(),
                               rtol=1e-13, atol=1e-15)
    if reduction == "mean":
        per_entry = xent.binary_cross_entropy_with_logits(z, y, weight=weight, pos_weight=pos_weight,
                                                          reduction="none")
        np.testing.assert_allclose(loss, per_entry.sum() / z.size, rtol=1e-14)


def test_pos_weight_makes_the_constant_model_predict_one_half():
    y = np.r_[np.ones(30), np.zeros(270)]
    for pos_weight, expected in [(None, 0.1), (np.array(9.0), 0.5)]:
        b = np.log(expected / (1 - expected))  # the claimed optimum, sigma(b) = p n_pos / (p n_pos + n_neg)
        grad = xent.binary_cross_entropy_with_logits_grad(np.full(300, b), y, pos_weight=pos_weight, reduction="sum")
        assert abs(grad.sum()) < 1e-12  # dT/db = 0 at the optimum


def test_float32_stays_float32_and_matches_torch():
    rng = np.random.default_rng(1)
    z = (rng.normal(scale=10, size=(6, 2))).astype(np.float32)
    y = rng.uniform(size=(6, 2)).astype(np.float32)
    loss = xent.binary_cross_entropy_with_logits(z, y)
    grad = xent.binary_cross_entropy_with_logits_grad(z, y)
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    zt = torch.tensor(z, requires_grad=True)
    F.binary_cross_entropy_with_logits(zt, torch.tensor(y)).backward()
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("target", [np.array([0, 1, 1]), np.array([True, False, True])], ids=["int", "bool"])
def test_non_float_targets_raise_a_value_error_naming_target(target):
    with pytest.raises(ValueError, match="target"):
        xent.binary_cross_entropy_with_logits(np.zeros(3), target)
    with pytest.raises(ValueError, match="target"):
        xent.binary_cross_entropy_with_logits_grad(np.zeros(3), target)


def test_torch_refuses_integer_targets_too():
    with pytest.raises(RuntimeError, match="can't be cast"):
        F.binary_cross_entropy_with_logits(torch.zeros(3, dtype=torch.float64), torch.tensor([1, 0, 1]))
