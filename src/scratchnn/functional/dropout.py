"""Dropout: multiply by Bernoulli noise, rescaled so the expectation is unchanged.

Legend: b batch, c channels, ... the rest (spatial) dims.

    dropout          noise (b, c, ...) ~ Bernoulli(1 − p) / (1 − p)      out = input · noise
    feature dropout  noise (b, c, 1, …, 1): one draw per channel, broadcast over ...
    alpha dropout    noise · a + (noise − 1) · α·a + α·a·p, with α the SELU saturation
                     (−λ·α of selu), a = 1/√((α²·p + 1)(1 − p)): keeps mean 0 and variance 1

The noise is drawn exactly as torch draws it (``empty(...).bernoulli_(1 − p)``, one draw per
element or per channel), so under the same seed the masks are torch's own. Nothing is drawn
when ``training`` is False, ``p == 0`` or the input is empty: the input itself is returned.
"""

from __future__ import annotations

import math

import torch

from .._args import fail, warn

__all__ = [
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
]

# −(selu's scale · alpha): where alpha dropout sends a dropped unit
SELU_SATURATION = 1.7580993408473766


# torch's names of the integer dtypes, as its messages spell them
_C_NAMES = {
    torch.int64: "Long",
    torch.int32: "Int",
    torch.int16: "Short",
    torch.int8: "Char",
    torch.uint8: "Byte",
    torch.bool: "Bool",
}


def _check_probability(p: float, op: str) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if math.isnan(p):  # past torch's Python check, its kernel refuses it (in evaluation too)
        raise RuntimeError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _noisy(
    input: torch.Tensor, p: float, training: bool, inplace: bool, feature: bool, alpha: bool, op: str
) -> torch.Tensor:
    """The one dropout kernel: ``input · noise (+ shift)``, in place when asked."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        zero = torch.zeros((), dtype=input.dtype, device=input.device)
        return input.mul_(zero) if inplace else input * zero
    if feature and input.ndim < 2:
        raise fail(
            RuntimeError,
            op,
            "Feature dropout requires at least 2 dimensions in the input",
            {"input": ("b c ...", input.shape)},
        )
    if not (input.is_floating_point() or input.is_complex()):  # the scaled noise is float
        raise RuntimeError(
            f"{op}: result type Float can't be cast to the desired output type {_C_NAMES[input.dtype]}"
        )
    if feature:  # one draw per channel: b c 1 … 1
        noise = input.new_empty((*input.shape[:2], *[1] * (input.ndim - 2)))
    else:  # one draw per element, laid out like the input (torch's empty_like), so the draws match
        noise = torch.empty_like(input)
    noise = noise.bernoulli_(1 - p)  # 1 kept, 0 dropped
    if not alpha:
        noise = noise / (1 - p)
        return input.mul_(noise) if inplace else input * noise
    a = 1.0 / math.sqrt((SELU_SATURATION**2 * p + 1) * (1 - p))
    shift = (noise - 1) * (SELU_SATURATION * a) + SELU_SATURATION * a * p  # −α·a where dropped
    noise = noise * a
    return (input.mul_(noise) if inplace else input * noise).add_(shift)


def dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 − p).

    >>> x = torch.ones(1000, dtype=torch.float64)
    >>> sorted(set(dropout(x, 0.25).tolist())) == [0.0, 1 / 0.75]
    True
    >>> dropout(x, 0.25, training=False) is x
    True
    """
    _check_probability(p, "dropout")
    return _noisy(input, p, training, inplace, feature=False, alpha=False, op="dropout")


def alpha_dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> torch.Tensor:
    """Dropout for SELU networks: dropped units go to selu's saturation −α, then an affine map
    restores mean 0 and variance 1 (the default ``training`` is False, as torch's).

    >>> torch.manual_seed(0) and None
    >>> x = torch.randn(100_000)
    >>> y = alpha_dropout(x, 0.2, training=True)
    >>> abs(y.mean().item()) < 0.05, abs(y.std().item() - 1) < 0.05
    (True, True)
    """
    _check_probability(p, "alpha_dropout")
    return _noisy(input, p, training, inplace, feature=False, alpha=True, op="alpha_dropout")


def feature_alpha_dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> torch.Tensor:
    """Alpha dropout of whole channels: one draw per (b, c), broadcast over the remaining dims.

    >>> y = feature_alpha_dropout(torch.randn(4, 50, 6), 0.5, training=True)
    >>> bool((y == y[..., :1]).all(-1).any())  # a dropped channel is one value throughout
    True
    """
    _check_probability(p, "feature_alpha_dropout")
    return _noisy(input, p, training, inplace, feature=True, alpha=True, op="feature_alpha_dropout")


def _channel_dropout(
    input: torch.Tensor, p: float, training: bool, inplace: bool, batched: bool, op: str
) -> torch.Tensor:
    if batched:
        return _noisy(input, p, training, inplace, feature=True, alpha=False, op=op)
    # unbatched (c, ...): a batch of one, dropped in place through the view when asked
    out = _noisy(input.unsqueeze(0), p, training, inplace, feature=True, alpha=False, op=op)
    return input if inplace else out.squeeze(0)


def dropout1d(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero whole channels of (b, c, l) or (c, l) with probability ``p``, scale the rest by 1 / (1 − p).

    >>> x = torch.ones(2, 100, 7)
    >>> y = dropout1d(x, 0.5)
    >>> bool(((y == 0).all(-1) | (y == 2).all(-1)).all())
    True
    """
    _check_probability(p, "dropout1d")
    if input.ndim not in (2, 3):
        raise fail(
            RuntimeError,
            "dropout1d",
            f"Expected 2D or 3D input, but received a {input.ndim}D input. Note that dropout1d exists to "
            "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs).",
            {"input": ("b c l", input.shape)},
        )
    return _channel_dropout(input, p, training, inplace, input.ndim == 3, "dropout1d")


def dropout2d(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero whole channels of (b, c, h, w) with probability ``p``, scale the rest by 1 / (1 − p).

    As in torch, a 3-D input is read as batched (b, c, l), with a warning, not as unbatched (c, h, w).

    >>> y = dropout2d(torch.ones(2, 100, 3, 3), 0.5)
    >>> bool(((y == 0).all((-2, -1)) | (y == 2).all((-2, -1))).all())
    True
    """
    _check_probability(p, "dropout2d")
    if input.ndim not in (3, 4):
        warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if input.ndim == 3:
        warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _noisy(input, p, training, inplace, feature=True, alpha=False, op="dropout2d")


def dropout3d(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero whole channels of (b, c, d, h, w) or (c, d, h, w) with probability ``p``, scale the
    rest by 1 / (1 − p).

    >>> y = dropout3d(torch.ones(100, 2, 2, 2), 0.5)  # unbatched
    >>> bool(((y == 0).all((-3, -2, -1)) | (y == 2).all((-3, -2, -1))).all())
    True
    """
    _check_probability(p, "dropout3d")
    if input.ndim not in (4, 5):
        warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout3d "
            "exists to provide channel-wise dropout on inputs with 3 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, inplace, input.ndim == 5, "dropout3d")
