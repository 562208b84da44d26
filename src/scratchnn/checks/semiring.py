"""Check cases: semiring convolutions and grayscale morphology, against torch.

* ``semiring_conv{1,2,3}d``: plus-times against ``conv{1,2,3}d``; every other built-in semiring
  against its literal form written with torch (``F.pad`` + ``Tensor.unfold`` + combine + one
  reduction over the whole window — the form used in the wild, whose autograd is the reference
  gradient); strides, padding (ints, 'same', 'valid'), dilation, groups, bias, unbatched input.
* dilation, erosion, opening, closing, gradient and top-hat with flat square elements against
  ``max_pool2d`` compositions (random inputs: no ties, where max_pool's single arg-max and the
  tie-splitting subgradient agree).
"""

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

SPATIAL = (7, 6, 5)

LITERAL = {  # x ⊗ w, the reduction over (c_in, *kernel), padding value
    "max-plus": (lambda x, w: x + w, lambda v, d: v.amax(d), -math.inf),
    "min-plus": (lambda x, w: x + w, lambda v, d: v.amin(d), math.inf),
    "logsumexp-plus": (lambda x, w: x + w, lambda v, d: torch.logsumexp(v, d), -math.inf),
    "l1": (lambda x, w: -(x - w).abs(), lambda v, d: v.sum(d), 0.0),
    "lp": (lambda x, w: -((x - w) ** 2), lambda v, d: v.sum(d), 0.0),  # p = 2, the default
}


def torch_semiring_conv(n: int, x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *, semiring: str):
    """The reference: ``conv{n}d`` for plus-times, else windows (b, g, 1, c_in, *out, *kernel) ⊗
    weight (1, g, c_out, c_in, 1…, *kernel), reduced over (c_in, *kernel) at once."""
    if semiring == "plus-times":
        return getattr(torch_F, f"conv{n}d")(x, w, b, stride, padding, dilation, groups)
    combine, reduce, value = LITERAL[semiring]
    unbatched = x.ndim == n + 1
    x = x.unsqueeze(0) if unbatched else x
    stride = (stride,) * n if isinstance(stride, int) else tuple(stride)
    dilation = (dilation,) * n if isinstance(dilation, int) else tuple(dilation)
    spans = [d * (k - 1) for k, d in zip(w.shape[2:], dilation)]
    if padding == "same":
        pairs = [(span // 2, span - span // 2) for span in spans]
    elif padding == "valid":
        pairs = [(0, 0)] * n
    else:
        pairs = [(p, p) for p in ((padding,) * n if isinstance(padding, int) else padding)]
    x = torch_F.pad(x, [amount for pair in reversed(pairs) for amount in pair], value=value)
    for i, (span, s) in enumerate(zip(spans, stride)):
        x = x.unfold(2 + i, span + 1, s)
    windows = x[(..., *(slice(None, None, d) for d in dilation))].unflatten(1, (groups, -1)).unsqueeze(2)
    weight = w.unflatten(0, (groups, -1))[(None, slice(None), slice(None), slice(None), *[None] * n)]
    out = reduce(combine(windows, weight), (3, *range(4 + n, 4 + 2 * n))).flatten(1, 2)
    out = out if b is None else out + b.view(-1, *[1] * n)
    return out.squeeze(0) if unbatched else out


CONFIGS: list[dict[str, Any]] = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(stride=(1, 2, 3), padding=(0, 1, 2), dilation=(2, 1, 1), groups=2),
]


def make_conv(n: int, config: dict, semiring: str, batched: bool, bias: bool, generator: torch.Generator):
    config = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in config.items()}
    groups = config.get("groups", 1)
    x = torch.randn(*([2] if batched else []), 4, *SPATIAL[:n], generator=generator, dtype=torch.float64)
    w = torch.randn(4, 4 // groups, *(3, 2, 3)[:n], generator=generator, dtype=torch.float64)
    b = torch.randn(4, generator=generator, dtype=torch.float64) if bias else None
    return (x, w, b), dict(config, semiring=semiring)


for n in (1, 2, 3):
    register(
        f"semiring_conv{n}d",
        getattr(F, f"semiring_conv{n}d"),
        partial(torch_semiring_conv, n),
        [
            partial(make_conv, n, config, semiring, batched, bias)
            for semiring in ("plus-times", *LITERAL)
            for config in CONFIGS
            for batched, bias in ((True, True), (False, False))
        ],
    )


# --- morphology with flat squares = pooling compositions ----------------------------------------


def pooled(steps: str, x: torch.Tensor, size: int) -> torch.Tensor:
    """Dilation (d: max_pool2d, stride 1, same padding) and erosion (e: −max_pool2d(−x)),
    applied right to left."""
    out = x
    for step in reversed(steps):
        sign = 1 if step == "d" else -1
        out = sign * torch_F.max_pool2d(sign * out, size, stride=1, padding=size // 2)
    return out


def gradient(x: torch.Tensor, size: int) -> torch.Tensor:
    return pooled("d", x, size) - pooled("e", x, size)


def tophat(x: torch.Tensor, size: int) -> torch.Tensor:
    return x - pooled("de", x, size)


def make_image(size: int, batched: bool, generator: torch.Generator):
    x = torch.randn(*([2] if batched else []), 3, 9, 8, generator=generator, dtype=torch.float64)
    return (x,), dict(size=size)


REFERENCES: dict[str, Callable[..., torch.Tensor]] = {
    "dilation2d": partial(pooled, "d"),
    "erosion2d": partial(pooled, "e"),
    "opening2d": partial(pooled, "de"),
    "closing2d": partial(pooled, "ed"),
    "gradient2d": gradient,
    "tophat2d": tophat,
}
for name, reference in REFERENCES.items():
    register(
        name,
        getattr(F, name),
        reference,
        [partial(make_image, size, batched) for size in (3, 1, 7) for batched in (True, False)],
    )
