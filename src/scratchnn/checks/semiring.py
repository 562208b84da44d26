"""Check cases: semiring convolutions and grayscale morphology, against torch.

* plus-times against ``conv1d/2d/3d`` (strides, padding, dilation, groups, bias, unbatched);
* max-plus / min-plus with a zero flat element against ``max_pool`` (stride 1, same padding) and
  ``−max_pool(−x)``; dilation, erosion, opening, closing, gradient and top-hat with flat square
  elements against the same pooling compositions (random inputs: no ties, where max_pool's single
  arg-max and the tie-splitting subgradient agree);
* every built-in semiring with a general element against its literal form written with torch
  (``F.pad`` + ``Tensor.unfold`` + combine + one reduction), the form used in the wild.
"""

import math
from functools import partial

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register
from ..functional.semiring import get_semiring

SPATIAL = (9, 8, 7)
CONV_CONFIGS = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(stride=(1, 2, 3), padding=(0, 1, 2), dilation=(2, 1, 1), groups=2),
]


def tensor(shape, generator):
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def make_conv(n: int, config: dict, batched: bool, bias: bool, generator: torch.Generator):
    config = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in config.items()}
    groups = config.get("groups", 1)
    x = tensor((*([2] if batched else []), 4, *SPATIAL[:n]), generator)
    w = tensor((4, 4 // groups, *(3, 2, 3)[:n]), generator)
    b = tensor((4,), generator) if bias else None
    return (x, w, b), config


def make_image(n: int, kernel: int, batched: bool, generator: torch.Generator):
    return (tensor((*([2] if batched else []), 3, *SPATIAL[:n]), generator), kernel), {}


# --- plus-times = conv --------------------------------------------------------------------------

for n in (1, 2, 3):
    ours = getattr(F, f"semiring_conv{n}d")
    register(
        f"semiring_conv{n}d[plus-times]",
        partial(ours, semiring="plus-times"),
        getattr(torch_F, f"conv{n}d"),
        [
            partial(make_conv, n, config, batched, bias)
            for config in CONV_CONFIGS
            for batched, bias in ((True, True), (False, False))
        ],
    )


# --- flat max-plus / min-plus = max pooling -----------------------------------------------------


def flat(n: int, semiring: str, x: torch.Tensor, kernel: int) -> torch.Tensor:
    channels = x.shape[-n - 1]
    weight = torch.zeros(channels, 1, *[kernel] * n, dtype=x.dtype)
    op = getattr(F, f"semiring_conv{n}d")
    return op(x, weight, padding=kernel // 2, groups=channels, semiring=semiring)


def max_pool(n: int, sign: int, x: torch.Tensor, kernel: int) -> torch.Tensor:
    pool = getattr(torch_F, f"max_pool{n}d")
    return sign * pool(sign * x, kernel, stride=1, padding=kernel // 2)


for n in (1, 2, 3):
    for semiring, sign in (("max-plus", 1), ("min-plus", -1)):
        register(
            f"semiring_conv{n}d[{semiring}, flat]",
            partial(flat, n, semiring),
            partial(max_pool, n, sign),
            [partial(make_image, n, kernel, batched) for kernel in (1, 3, 5) for batched in (True, False)],
        )


# --- morphology with flat squares = pooling compositions ----------------------------------------


def pooled(x: torch.Tensor, size: int, steps: str) -> torch.Tensor:
    """Compose dilation (d: max_pool) and erosion (e: −max_pool(−x)), applied right to left."""
    out = x
    for step in reversed(steps):
        sign = 1 if step == "d" else -1
        out = sign * torch_F.max_pool2d(sign * out, size, stride=1, padding=size // 2)
    return out


MORPHOLOGY = {
    "dilation2d": lambda x, size: pooled(x, size, "d"),
    "erosion2d": lambda x, size: pooled(x, size, "e"),
    "opening2d": lambda x, size: pooled(x, size, "de"),
    "closing2d": lambda x, size: pooled(x, size, "ed"),
    "gradient2d": lambda x, size: pooled(x, size, "d") - pooled(x, size, "e"),
    "tophat2d": lambda x, size: x - pooled(x, size, "de"),
}

for name, reference in MORPHOLOGY.items():
    op = getattr(F, name)
    register(
        name,
        lambda x, size, op=op: op(x, size=size),
        reference,
        [partial(make_image, 2, kernel, batched) for kernel in (1, 3, 7) for batched in (True, False)],
    )


# --- every semiring against its literal form, in torch -----------------------------------------

LITERAL = {  # x ⊗ w, the reduction over (c_in, kernel), padding value
    "max-plus": (lambda x, w: x + w, lambda v, d: v.amax(d), -math.inf),
    "min-plus": (lambda x, w: x + w, lambda v, d: v.amin(d), math.inf),
    "logsumexp-plus": (lambda x, w: x + w, lambda v, d: 0.5 * torch.logsumexp(v / 0.5, d), -math.inf),
    "l1": (lambda x, w: -(x - w).abs(), lambda v, d: v.sum(d), 0.0),
    "lp": (lambda x, w: -((x - w).abs() ** 3), lambda v, d: v.sum(d), 0.0),
}
SEMIRINGS = {
    "max-plus": get_semiring("max-plus"),
    "min-plus": get_semiring("min-plus"),
    "logsumexp-plus": get_semiring("logsumexp-plus", temperature=0.5),
    "l1": get_semiring("l1"),
    "lp": get_semiring("lp", p=3),
}


def literal_2d(name: str, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The unfold form: windows (b, g, 1, c_in, h, w, kh, kw) ⊗ weight (1, g, c_out, c_in, 1, 1, kh, kw),
    reduced over (c_in, kh, kw) at once."""
    combine, reduce, value = LITERAL[name]
    unbatched = x.ndim == 3
    x = x.unsqueeze(0) if unbatched else x
    kh, kw = w.shape[2:]
    x = torch_F.pad(x, (padding, padding, padding, padding), value=value)
    windows = x.unfold(2, dilation * (kh - 1) + 1, stride).unfold(3, dilation * (kw - 1) + 1, stride)
    windows = windows[..., ::dilation, ::dilation].unflatten(1, (groups, -1)).unsqueeze(2)
    weight = w.unflatten(0, (groups, -1))[None, :, :, :, None, None]
    out = reduce(combine(windows, weight), (3, 6, 7)).flatten(1, 2)
    out = out if b is None else out + b.view(-1, 1, 1)
    return out.squeeze(0) if unbatched else out


def make_general(config: dict, batched: bool, bias: bool, generator: torch.Generator):
    groups = config.get("groups", 1)
    x = tensor((*([2] if batched else []), 4, 7, 6), generator)
    w = tensor((6, 4 // groups, 3, 2), generator)
    b = tensor((6,), generator) if bias else None
    return (x, w, b), config


GENERAL_CONFIGS = [dict(), dict(stride=2, padding=1, groups=2), dict(padding=2, dilation=2)]

for name, ring in SEMIRINGS.items():
    register(
        f"semiring_conv2d[{name}]",
        partial(F.semiring_conv2d, semiring=ring),
        partial(literal_2d, name),
        [
            partial(make_general, config, batched, bias)
            for config in GENERAL_CONFIGS
            for batched, bias in ((True, True), (False, False))
        ],
    )
