"""Check cases: dropout in every variant. The checker seeds torch's generator before each side,
and the noise is drawn as torch draws it, so the masks (and gradients) must agree exactly."""

import warnings

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def case(shape, p, training=True):
    def make(generator: torch.Generator):
        return (torch.randn(*shape, generator=generator, dtype=torch.float64), p, training), {}

    return make


def quiet(fn):
    """dropout2d/3d warn about some ranks, as torch does; the check table needs no warnings."""

    def call(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)

    return call


register(
    "dropout",
    F.dropout,
    torch_F.dropout,
    [case((4, 5), 0.3), case((2, 3, 4), 0.5), case((7,), 0.9), case((3, 3), 1.0), case((3, 3), 0.5, False)],
)
register("alpha_dropout", F.alpha_dropout, torch_F.alpha_dropout, [case((4, 5), 0.3), case((2, 3, 4), 0.5)])
register(
    "feature_alpha_dropout",
    F.feature_alpha_dropout,
    torch_F.feature_alpha_dropout,
    [case((4, 5, 3), 0.3), case((2, 3, 4, 4), 0.5)],
)
register("dropout1d", F.dropout1d, torch_F.dropout1d, [case((4, 6, 3), 0.3), case((6, 5), 0.5)])
register(
    "dropout2d", quiet(F.dropout2d), quiet(torch_F.dropout2d), [case((2, 6, 3, 3), 0.3), case((4, 3, 5), 0.5)]
)
register(
    "dropout3d",
    quiet(F.dropout3d),
    quiet(torch_F.dropout3d),
    [case((2, 6, 3, 3, 2), 0.3), case((6, 2, 3, 3), 0.5)],
)
