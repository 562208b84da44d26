"""Check cases: every activation and its options, on values that straddle its kinks and thresholds."""

from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

# values at the branch points (0, ±3, 6, ±1) next to random ones, and exp overflow (±800)
SPECIAL = torch.tensor([0.0, -3.0, 3.0, 6.0, -1.0, 1.0, 25.0, -40.0, 800.0, -800.0], dtype=torch.float64)


def values(shape=(2, 3, 4), special=True):
    def make(generator: torch.Generator):
        x = 4 * torch.randn(tuple(shape), generator=generator, dtype=torch.float64)
        if special:
            x.view(-1)[: SPECIAL.numel()] = SPECIAL[: x.numel()]
        return (x,), {}

    return make


def with_options(shape=(2, 3, 4), special=True, **kwargs):
    def make(generator: torch.Generator):
        args, _ = values(shape, special)(generator)
        return args, dict(kwargs)

    return make


def reference(name):
    return getattr(torch_F, name) if hasattr(torch_F, name) else getattr(torch, name)


OPTIONS: dict[str, list[dict[str, Any]]] = {
    "relu": [{}],
    "relu6": [{}],
    "hardtanh": [{}, {"min_val": -2.0, "max_val": 0.5}],
    "leaky_relu": [{}, {"negative_slope": 0.2}, {"negative_slope": -1.5}],
    "elu": [{}, {"alpha": 0.5}],
    "selu": [{}],
    "celu": [{}, {"alpha": 2.0}, {"alpha": 0.7}],
    "gelu": [{}, {"approximate": "tanh"}],
    "silu": [{}],
    "mish": [{}],
    "hardswish": [{}],
    "hardsigmoid": [{}],
    "sigmoid": [{}],
    "tanh": [{}],
    "softplus": [{}, {"beta": 2.0, "threshold": 5.0}, {"beta": 0.5}],
    "logsigmoid": [{}],
    "softsign": [{}],
    "tanhshrink": [{}],
}

for name, options in OPTIONS.items():
    makers = [with_options(**kwargs) for kwargs in options] + [
        values((5,), special=False),
        values((), special=False),
    ]
    register(name, getattr(F, name), reference(name), makers)


def glu_case(shape, dim):
    def make(generator: torch.Generator):
        return (torch.randn(tuple(shape), generator=generator, dtype=torch.float64), dim), {}

    return make


register("glu", F.glu, torch_F.glu, [glu_case((4,), -1), glu_case((2, 6, 3), 1), glu_case((3, 2, 5), -2)])


def prelu_case(shape, weight_shape):
    def make(generator: torch.Generator):
        x = torch.randn(tuple(shape), generator=generator, dtype=torch.float64)
        x.view(-1)[::4] = 0
        return (x, torch.randn(tuple(weight_shape), generator=generator, dtype=torch.float64)), {}

    return make


register(
    "prelu",
    F.prelu,
    torch_F.prelu,
    [
        prelu_case((2, 3, 4), (3,)),
        prelu_case((2, 3, 4), (1,)),
        prelu_case((5,), ()),
        prelu_case((2, 3), (3,)),
    ],
)


def shifted(**kwargs):
    """Values that straddle the thresholds at ±0.5 and 0.5 exactly."""

    def make(generator: torch.Generator):
        x = 2 * torch.randn(2, 3, 4, generator=generator, dtype=torch.float64)
        x.view(-1)[:4] = torch.tensor([0.5, -0.5, 0.0, 1.0], dtype=torch.float64)
        return (x,), dict(kwargs)

    return make


register(
    "threshold",
    F.threshold,
    torch_F.threshold,
    [shifted(threshold=0.5, value=-2.0), shifted(threshold=-1.0, value=3.0)],
)
register("hardshrink", F.hardshrink, torch_F.hardshrink, [shifted(), shifted(lambd=1.0), shifted(lambd=0.0)])
register("softshrink", F.softshrink, torch_F.softshrink, [shifted(), shifted(lambd=1.0), shifted(lambd=0.0)])
# training mode draws its slopes with another kernel than torch's: evaluation mode only
register("rrelu", F.rrelu, torch_F.rrelu, [shifted(), shifted(lower=0.2, upper=0.6)])
# both sides draw their noise under the same seed with the same call: the samples are torch's
register(
    "gumbel_softmax",
    F.gumbel_softmax,
    torch_F.gumbel_softmax,
    [shifted(), shifted(tau=0.5, hard=True), shifted(tau=2.0, dim=1)],
)


def on_a_copy(fn):
    """An in-place op applied to a copy of its input (autograd refuses in-place ops on leaves)."""

    def call(input, *args, **kwargs):
        return fn(input.clone(), *args, **kwargs)

    return call


IN_PLACE: dict[str, list[dict[str, Any]]] = {
    "relu_": [{}],
    "elu_": [{}, {"alpha": 0.5}],
    "celu_": [{}, {"alpha": 2.0}],
    "selu_": [{}],
    "leaky_relu_": [{}, {"negative_slope": 0.2}],
    "hardtanh_": [{}, {"min_val": -2.0, "max_val": 0.5}],
    "threshold_": [{"threshold": 0.5, "value": -2.0}],
    "rrelu_": [{}, {"lower": 0.2, "upper": 0.6}],
}
for name, options in IN_PLACE.items():
    # and a small vector, with the first options (threshold_ has no defaults)
    makers = [with_options(**kwargs) for kwargs in options] + [with_options((5,), False, **options[0])]
    register(name, on_a_copy(getattr(F, name)), on_a_copy(getattr(torch_F, name)), makers)
