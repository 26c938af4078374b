"""Property-based test: xent.cross_entropy and cross_entropy_grad match F.cross_entropy in float64.

Hypothesis draws the logits' shape ((N, C), (N, C, d1, …) or unbatched (C,)), the target kind
(class indices, some of them ignore_index, or class probabilities, with or without an
ignore_index that torch accepts (negative) or refuses (non-negative)), weight, ignore_index,
label_smoothing, reduction and the logits' scale (up to 1e6). A fixed, derandomized run of
MAX_EXAMPLES examples keeps the suite deterministic and fast (a few seconds).

Where PyTorch's 'mean' is 0/0 = nan (every target ignored, or the counted targets' weights sum to
0), xent raises a ValueError instead (chapter 10 explains why); the test asserts exactly that.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xent

MAX_EXAMPLES = 300
SETTINGS = settings(derandomize=True, max_examples=MAX_EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@st.composite
def cases(draw):
    """One call of F.cross_entropy: (logits, target, keyword arguments), all NumPy."""
    layout = draw(st.sampled_from(["NC", "NCd", "C"]))
    n_classes = draw(st.integers(1, 6))
    if layout == "C":
        shape = (n_classes,)
    else:
        extra = () if layout == "NC" else tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
        shape = (draw(st.integers(1, 5)), n_classes) + extra
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-3, 1.0, 10.0, 1e3, 1e6]))
    logits = scale * rng.normal(size=shape)
    if draw(st.booleans()):  # ties and repeated values
        logits = np.round(logits / scale) * scale

    kwargs = {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    if draw(st.booleans()):
        kwargs["label_smoothing"] = draw(st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0))
    if draw(st.booleans()):
        kwargs["weight"] = rng.uniform(0.0, 3.0, size=n_classes)
        if draw(st.booleans()):  # some classes weigh nothing
            kwargs["weight"][rng.random(n_classes) < 0.4] = 0.0

    tshape = () if layout == "C" else (shape[0],) + shape[2:]
    if draw(st.sampled_from(["indices", "probabilities"])) == "indices":
        target = rng.integers(0, n_classes, size=tshape).astype(np.int64)
        if draw(st.booleans()):
            ignore = draw(st.sampled_from([-100, -1, 0, n_classes - 1, 7]))
            if ignore != -100:
                kwargs["ignore_index"] = ignore
            mask = rng.random(tshape) < draw(st.sampled_from([0.3, 1.0]))
            target = np.where(mask, ignore, target).astype(np.int64)
    else:
        class_axis = 0 if layout == "C" else 1
        kind = draw(st.sampled_from(["dirichlet", "one-hot", "sparse"]))
        last = tshape + (n_classes,)
        if kind == "dirichlet":
            y = rng.dirichlet(np.ones(n_classes), size=tshape) if tshape else rng.dirichlet(np.ones(n_classes))
        elif kind == "one-hot":
            y = xent.one_hot(rng.integers(0, n_classes, size=tshape), n_classes)
        else:  # zeros in some entries
            raw = rng.random(last) * (rng.random(last) < 0.5)
            raw[..., 0] += 1e-3
            y = raw / raw.sum(axis=-1, keepdims=True)
        target = np.moveaxis(np.asarray(y, dtype=np.float64).reshape(last), -1, class_axis)
        if draw(st.booleans()):  # torch: a negative ignore_index is unused, a non-negative one refused
            kwargs["ignore_index"] = draw(st.sampled_from([-1, -7, -100, 0, 2]))
    return logits, target, kwargs


def torch_loss_and_grad(logits, target, kwargs):
    """F.cross_entropy's value and ∂(value, summed if 'none')/∂logits by autograd, float64."""
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(target)
    kw = dict(kwargs)
    if "weight" in kw:
        kw["weight"] = torch.tensor(kw["weight"], dtype=torch.float64)
    loss = F.cross_entropy(z, y, **kw)
    loss.sum().backward()
    return loss.detach().numpy(), z.grad.numpy()


@SETTINGS
@given(cases())
def test_cross_entropy_and_grad_match_torch(case):
    logits, target, kwargs = case
    if target.dtype.kind == "f" and kwargs.get("ignore_index", -100) >= 0:  # both refuse
        with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
            torch_loss_and_grad(logits, target, kwargs)
        for function in (xent.cross_entropy, xent.cross_entropy_grad):
            with pytest.raises(ValueError, match="ignore_index"):
                function(logits, target, **kwargs)
        return
    value_t, grad_t = torch_loss_and_grad(logits, target, kwargs)
    if kwargs["reduction"] == "mean" and np.isnan(value_t):  # torch: 0/0; xent refuses
        with pytest.raises(ValueError, match="ignore_index|weight"):
            xent.cross_entropy(logits, target, **kwargs)
        with pytest.raises(ValueError, match="ignore_index|weight"):
            xent.cross_entropy_grad(logits, target, **kwargs)
        return
    value = xent.cross_entropy(logits, target, **kwargs)
    grad = xent.cross_entropy_grad(logits, target, **kwargs)
    scale = max(1.0, float(np.abs(logits).max()))
    assert np.shape(value) == np.shape(value_t)
    np.testing.assert_allclose(value, value_t, rtol=1e-10, atol=1e-12 * scale)
    assert grad.shape == logits.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, grad_t, rtol=1e-9, atol=1e-12)
