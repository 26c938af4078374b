"""xent: the NumPy code of 'Cross-Entropy, Derived'. Arrays in, arrays out; dtype preserved."""

from . import figures
from .chunked import (
    LSEState,
    chunked_logsumexp,
    linear_cross_entropy,
    linear_cross_entropy_and_grad,
    linear_cross_entropy_grad,
    lse_merge,
    lse_state,
    lse_value,
    skipped_blocks,
)
from .information import distribution_cross_entropy, entropy, kl_divergence, self_information
from .loss import (
    CrossEntropyLoss,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_and_grad,
    binary_cross_entropy_with_logits_grad,
    cross_entropy,
    cross_entropy_and_grad,
    cross_entropy_grad,
    one_hot,
)
from .softmax import log_sigmoid, log_softmax, logsumexp, sigmoid, softmax, softmax_jacobian, softmax_vjp

__all__ = [
    "LSEState",
    "chunked_logsumexp",
    "linear_cross_entropy",
    "linear_cross_entropy_and_grad",
    "linear_cross_entropy_grad",
    "lse_merge",
    "lse_state",
    "lse_value",
    "skipped_blocks",
    "CrossEntropyLoss",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_and_grad",
    "binary_cross_entropy_with_logits_grad",
    "cross_entropy",
    "cross_entropy_and_grad",
    "cross_entropy_grad",
    "distribution_cross_entropy",
    "entropy",
    "kl_divergence",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "self_information",
    "sigmoid",
    "softmax",
    "softmax_jacobian",
    "softmax_vjp",
]
__version__ = "0.1.0"
