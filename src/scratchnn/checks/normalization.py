"""Check cases: batch/instance/group/layer/rms norm, local response norm and normalize, with and
without affine parameters, training and eval, batched shapes of every rank."""

import math

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def tensors(*shapes):
    """Random float64 tensors of the given shapes (None for a missing optional argument)."""

    def make(generator: torch.Generator):
        made = [
            None if s is None else torch.randn(s, generator=generator, dtype=torch.float64) for s in shapes
        ]
        return tuple(made), {}

    return make


def with_stats(fn, channels, **kwargs):
    """``fn(x, running_mean, running_var, weight, bias, **kwargs)`` on fresh running statistics
    (kept out of the checked inputs: they are buffers, not differentiable arguments)."""

    def call(x, weight=None, bias=None):
        generator = torch.Generator().manual_seed(7)
        mean = torch.randn(channels, generator=generator, dtype=x.dtype).to(x.device)
        var = torch.rand(channels, generator=generator, dtype=x.dtype).to(x.device) + 0.5
        out = fn(x, mean, var, weight, bias, **kwargs)
        return out, mean, var  # the updated statistics are compared too

    return call


for training, momentum in ((True, 0.1), (True, 0.7), (False, 0.1)):
    options = {"training": training, "momentum": momentum}
    register(
        "batch_norm",
        with_stats(F.batch_norm, 3, **options),
        with_stats(torch_F.batch_norm, 3, **options),
        [
            tensors((4, 3), (3,), (3,)),
            tensors((2, 3, 5), None, (3,)),
            tensors((2, 3, 4, 4)),
            tensors((2, 3, 2, 2, 3)),
        ],
    )
register(
    "batch_norm",
    lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    lambda x, w, b: torch_F.batch_norm(x, None, None, w, b, training=True),
    [tensors((5, 2, 3), (2,), (2,))],
)
for use_input_stats in (True, False):
    options = {"use_input_stats": use_input_stats, "momentum": 0.3}
    register(
        "instance_norm",
        with_stats(F.instance_norm, 3, **options),
        with_stats(torch_F.instance_norm, 3, **options),
        [tensors((2, 3, 5), (3,), (3,)), tensors((1, 3, 4, 4)), tensors((2, 3, 2, 2, 3), (3,), None)],
    )
register("instance_norm", F.instance_norm, torch_F.instance_norm, [tensors((2, 3, 6))])
register(
    "group_norm",
    lambda x, w, b, groups: F.group_norm(x, groups, w, b),
    lambda x, w, b, groups: torch_F.group_norm(x, groups, w, b),
    [
        lambda g: (tensors((2, 6, 4), (6,), (6,))(g)[0] + (3,), {}),
        lambda g: (tensors((3, 4), (4,), (4,))(g)[0] + (2,), {}),
        lambda g: (tensors((2, 4, 3, 3), (4,), (4,))(g)[0] + (4,), {}),
        lambda g: (tensors((2, 4, 2, 2, 2), (4,), (4,))(g)[0] + (1,), {}),
    ],
)


def trailing(fn, dims):
    def call(x, *rest):
        return fn(x, list(x.shape[x.ndim - dims :]), *rest)

    return call


register(
    "layer_norm",
    trailing(F.layer_norm, 1),
    trailing(torch_F.layer_norm, 1),
    [tensors((2, 5, 4), (4,), (4,)), tensors((4,), (4,), None), tensors((3, 2), None, None)],
)
register(
    "layer_norm",
    trailing(F.layer_norm, 2),
    trailing(torch_F.layer_norm, 2),
    [tensors((2, 3, 4), (3, 4), (3, 4))],
)
register(
    "rms_norm",
    trailing(F.rms_norm, 1),
    trailing(torch_F.rms_norm, 1),
    [tensors((2, 5, 4), (4,)), tensors((4,), None), tensors((3, 2, 2), (2,))],
)
register("rms_norm", trailing(F.rms_norm, 2), trailing(torch_F.rms_norm, 2), [tensors((2, 3, 4), (3, 4))])
for size, alpha, beta, k in ((3, 1e-4, 0.75, 1.0), (2, 0.5, 0.5, 2.0), (5, 1.0, 1.25, 0.5)):
    register(
        "local_response_norm",
        lambda x, size=size, alpha=alpha, beta=beta, k=k: F.local_response_norm(x, size, alpha, beta, k),
        lambda x, size=size, alpha=alpha, beta=beta, k=k: torch_F.local_response_norm(
            x, size, alpha, beta, k
        ),
        [tensors((2, 4, 5)), tensors((2, 6, 3, 3)), tensors((1, 3, 2, 2, 2))],
    )


def with_zero_vector(shape):
    def make(generator: torch.Generator):
        (x,), _ = tensors(shape)(generator)
        x[0, :, 0] = 0  # a zero vector along dim 1: the norm's gradient there is torch's convention
        return (x,), {}

    return make


for p in (2.0, 1.0, 3.0, 0.5, math.inf):
    register(
        "normalize",
        lambda x, p=p: F.normalize(x, p, 1),
        lambda x, p=p: torch_F.normalize(x, p, 1),
        [with_zero_vector((2, 4, 3)), tensors((3, 5))],
    )
register(  # the norm over several dims
    "normalize",
    lambda x: F.normalize(x, 2.0, (1, -1)),
    lambda x: torch_F.normalize(x, 2.0, (1, -1)),  # type: ignore[arg-type]  # the stub says int; tuples work
    [with_zero_vector((2, 4, 3))],
)
