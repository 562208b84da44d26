"""Every scratchnn layer compiles with ``torch.compile(..., fullgraph=True)``: no graph breaks.

``fullgraph=True`` makes dynamo raise on the first graph break, whatever the backend, so the
default sweep uses the cheapest backend, ``eager`` (dynamo's graph run as is); under ``slow`` the
same cases run with ``aot_eager`` (AOT autograd's forward and backward graphs, run by eager
kernels), and a few representative layers compile with inductor (the default backend).

The sweep enumerates ``scratchnn.nn.__all__`` and ``scratchnn.functional.__all__``: a new layer
without a case here fails ``test_every_export_has_a_case``. Each compiled call is compared, in
values and gradients (float32), with torch's uncompiled twin (or, for the layers torch lacks,
with scratchnn's own eager path, which the family's tests compare with torch).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as torch_F

import scratchnn
import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch, tensors_in

BACKEND = "eager"  # dynamo's graph run as is: the cheapest backend that still catches every break
FULL_BACKEND = "aot_eager"  # the slow sweep: AOT autograd traces the backward graphs too


def randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=_generator)


_generator = torch.Generator().manual_seed(0)


def compiled(fn: Callable, backend: str = BACKEND) -> Callable:
    torch._dynamo.reset()  # a fresh cache: each case traces from scratch (and no recompile limit)
    return torch.compile(fn, fullgraph=True, backend=backend)  # fullgraph: a graph break raises


@pytest.fixture(autouse=True)
def _reset_dynamo():
    yield
    torch._dynamo.reset()


# --------------------------------------------------------------------------------------------
# Known breaks, outside this file's reach: each case listed here is xfail(strict), so it starts
# failing (and must be removed from here) the day its op compiles.

KNOWN_BREAKS: dict[str, str] = {  # case -> reason
    "LSTM-packed": "a PackedSequence's batch_sizes are data: the per-step batch sizes are data-dependent",
    "grouped_mm": "the offsets are data: the group sizes are data-dependent (grouped_mm-batched compiles)",
}

# Exports that are not layers: nothing to compile.
NOT_LAYERS: dict[str, str] = {}  # name -> reason (none today: the settings are not exported as ops)


def _known(name: str) -> list:
    if name in KNOWN_BREAKS:
        return [pytest.mark.xfail(strict=True, reason=KNOWN_BREAKS[name])]
    return []


# --------------------------------------------------------------------------------------------
# nn modules: name -> factory of (ours, theirs or None, inputs). theirs None: torch has no twin,
# compare with our eager module. A factory may be listed under "Name-train" / "Name-eval".


def twin(name: str, *args: Any, **kwargs: Any) -> tuple[torch.nn.Module, torch.nn.Module]:
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def same(name: str, *shape: int, **kwargs: Any) -> Callable[[], tuple]:
    """A module built with the same arguments on both sides, on one random input."""
    args = kwargs.pop("args", ())
    return lambda: (*twin(name, *args, **kwargs), (randn(*shape),))


def scratch_only(module: Callable[[], torch.nn.Module], *shape: int) -> Callable[[], tuple]:
    return lambda: (module(), None, (randn(*shape),))


def unpool(n: int) -> Callable[[], tuple]:
    def make() -> tuple:
        x = randn(2, 3, *[6] * n)
        pooled, indices = getattr(torch_F, f"max_pool{n}d")(x, 2, return_indices=True)
        return (*twin(f"MaxUnpool{n}d", 2), (pooled, indices))

    return make


def embedding_bag() -> tuple:
    ours, theirs = twin("EmbeddingBag", 10, 3, mode="mean")
    return ours, theirs, (torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([0, 3, 3, 6]))


def subpixel() -> tuple:
    theirs = torch.nn.ConvTranspose2d(4, 3, 2, stride=2)
    return nn.conv_transpose_to_subpixel(theirs), theirs, (randn(2, 4, 5, 5),)


ACTIVATIONS = {
    name: same(name, 2, 4, 6)
    for name in [
        "CELU", "ELU", "GELU", "GLU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU",
        "LogSigmoid", "Mish", "PReLU", "ReLU", "ReLU6", "SiLU", "Sigmoid", "Softplus", "Softsign", "Tanh",
        "Tanhshrink", "Hardshrink", "Softshrink",
    ]
}  # fmt: skip

MODULES: dict[str, Callable[[], tuple]] = {
    **ACTIVATIONS,
    "GELU-tanh": same("GELU", 2, 4, 6, approximate="tanh"),
    "Softmax": same("Softmax", 2, 4, 6, dim=1),
    "LogSoftmax": same("LogSoftmax", 2, 4, 6, dim=-1),
    "Softmin": same("Softmin", 2, 4, 6, dim=1),
    "Softmax2d": same("Softmax2d", 2, 4, 3, 3),
    "Threshold": same("Threshold", 2, 4, 6, args=(0.1, -2.0)),
    "RReLU-eval": same("RReLU", 2, 4, 6, args=(0.1, 0.3)),  # training draws slopes unlike torch's kernel
    "CosineSimilarity": lambda: (*twin("CosineSimilarity", dim=1), (randn(3, 5), randn(3, 5))),
    "PairwiseDistance": lambda: (*twin("PairwiseDistance", p=3.0), (randn(3, 5), randn(3, 5))),
    "ChannelShuffle": same("ChannelShuffle", 2, 6, 3, 3, args=(3,)),
    "FractionalMaxPool2d": lambda: (
        *twin("FractionalMaxPool2d", 2, output_size=(3, 4), _random_samples=torch.rand(2, 3, 2)),
        (randn(2, 3, 7, 8),),
    ),
    "FractionalMaxPool3d": lambda: (
        *twin("FractionalMaxPool3d", 2, output_ratio=0.5, _random_samples=torch.rand(1, 2, 3)),
        (randn(1, 2, 6, 6, 8),),
    ),
    "Linear": same("Linear", 4, 5, args=(5, 3)),
    "Bilinear": lambda: (*twin("Bilinear", 3, 4, 5), (randn(2, 3), randn(2, 4))),
    "Identity": same("Identity", 2, 3),
    "Flatten": same("Flatten", 2, 3, 4, 5),
    "Unflatten": same("Unflatten", 2, 6, 5, args=(1, (2, 3))),
    "Conv1d": same("Conv1d", 2, 4, 9, args=(4, 6, 3), stride=2, padding=1),
    "Conv2d": same("Conv2d", 2, 4, 7, 7, args=(4, 6, 3), padding=1, groups=2),
    "Conv2d-depthwise-dilated": same("Conv2d", 2, 4, 9, 9, args=(4, 4, 3), dilation=2, groups=4),
    "Conv2d-circular": same("Conv2d", 2, 3, 6, 6, args=(3, 4, 3), padding=1, padding_mode="circular"),
    "Conv3d": same("Conv3d", 2, 2, 5, 5, 5, args=(2, 3, 3), padding="same"),
    "ConvTranspose1d": same("ConvTranspose1d", 2, 4, 6, args=(4, 3, 3), stride=2, output_padding=1),
    "ConvTranspose2d": same("ConvTranspose2d", 2, 4, 5, 5, args=(4, 3, 3), stride=2, padding=1),
    "ConvTranspose3d": same("ConvTranspose3d", 1, 2, 3, 3, 3, args=(2, 3, 2), stride=2),
    "conv_transpose_to_subpixel": subpixel,
    "Fold": same("Fold", 2, 12, 12, output_size=(4, 5), kernel_size=2),
    "Unfold": same("Unfold", 2, 3, 6, 7, kernel_size=2, dilation=2, padding=1),
    "PixelShuffle": same("PixelShuffle", 2, 8, 3, 3, args=(2,)),
    "PixelUnshuffle": same("PixelUnshuffle", 2, 2, 4, 6, args=(2,)),
    "PixelShuffleNd": scratch_only(lambda: nn.PixelShuffleNd(2, 3), 2, 16, 2, 3, 2),
    "PixelUnshuffleNd": scratch_only(lambda: nn.PixelUnshuffleNd(2, 3), 2, 2, 4, 2, 6),
    "Embedding": lambda: (*twin("Embedding", 10, 3, padding_idx=0), (torch.tensor([[1, 0, 9], [4, 4, 2]]),)),
    "EmbeddingBag": embedding_bag,
    "Embedding-max_norm": lambda: (  # renormalizes the rows it reads, in place
        *twin("Embedding", 10, 3, max_norm=1.0),
        (torch.tensor([[1, 0, 9], [4, 4, 2]]),),
    ),
    "EmbeddingBag-per_sample_weights": lambda: (
        *twin("EmbeddingBag", 10, 3, mode="sum"),
        (torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([0, 3, 3, 6])),
        {"per_sample_weights": randn(8)},
    ),
    "AvgPool1d": same("AvgPool1d", 2, 3, 9, args=(3, 2)),
    "AvgPool2d": same("AvgPool2d", 2, 3, 7, 7, args=(3, 2), padding=1, count_include_pad=False),
    "AvgPool3d": same("AvgPool3d", 2, 2, 4, 4, 4, args=(2,), ceil_mode=True),
    "MaxPool1d": same("MaxPool1d", 2, 3, 9, args=(3, 2)),
    "MaxPool2d": same("MaxPool2d", 2, 3, 7, 7, args=(3, 2), padding=1),
    "MaxPool2d-indices": same("MaxPool2d", 2, 3, 6, 6, args=(2,), return_indices=True),
    "MaxPool3d": same("MaxPool3d", 2, 2, 4, 4, 4, args=(2,), dilation=1),
    "LPPool1d": same("LPPool1d", 2, 3, 9, args=(2, 3)),
    "LPPool2d": same("LPPool2d", 2, 3, 6, 6, args=(2, 2)),
    "LPPool3d": same("LPPool3d", 2, 2, 4, 4, 4, args=(2, 2)),
    "AdaptiveAvgPool1d": same("AdaptiveAvgPool1d", 2, 3, 7, args=(3,)),
    "AdaptiveAvgPool2d": same("AdaptiveAvgPool2d", 2, 3, 7, 5, args=((3, 2),)),
    "AdaptiveAvgPool3d": same("AdaptiveAvgPool3d", 1, 2, 5, 5, 5, args=(3,)),
    "AdaptiveMaxPool1d": same("AdaptiveMaxPool1d", 2, 3, 7, args=(3,)),
    "AdaptiveMaxPool2d": same("AdaptiveMaxPool2d", 2, 3, 7, 5, args=((3, 2),)),
    "AdaptiveMaxPool3d": same("AdaptiveMaxPool3d", 1, 2, 5, 5, 5, args=(3,)),
    "AdaptiveAvgPool2d-uniform": same("AdaptiveAvgPool2d", 2, 3, 8, 6, args=((4, 3),)),
    "AdaptiveMaxPool2d-global": same("AdaptiveMaxPool2d", 2, 3, 9, 8, args=(1,)),
    "AdaptiveMaxPool1d-uniform": same("AdaptiveMaxPool1d", 2, 3, 8, args=(4,), return_indices=True),
    "MaxUnpool1d": unpool(1),
    "MaxUnpool2d": unpool(2),
    "MaxUnpool3d": unpool(3),
    "Upsample": same("Upsample", 2, 3, 4, 5, scale_factor=2, mode="bilinear"),
    "Upsample-nearest": same("Upsample", 2, 3, 4, 5, size=(7, 9)),
    "UpsamplingBilinear2d": same("UpsamplingBilinear2d", 2, 3, 4, 5, scale_factor=2),
    "UpsamplingNearest2d": same("UpsamplingNearest2d", 2, 3, 4, 5, scale_factor=3),
    "GroupNorm": same("GroupNorm", 2, 4, 5, 5, args=(2, 4)),
    "LayerNorm": same("LayerNorm", 2, 4, 6, args=((4, 6),)),
    "LocalResponseNorm": same("LocalResponseNorm", 2, 6, 5, 5, args=(3,)),
    "RMSNorm": same("RMSNorm", 2, 4, 6, args=(6,)),
    "MorphologicalDilation2d": scratch_only(lambda: nn.MorphologicalDilation2d(3, 3), 2, 3, 6, 6),
    "MorphologicalErosion2d": scratch_only(lambda: nn.MorphologicalErosion2d(3, 3), 2, 3, 6, 6),
    "AdderConv2d": scratch_only(lambda: nn.AdderConv2d(3, 4, 3, padding=1), 2, 3, 6, 6),
    "SemiringConv2d": scratch_only(lambda: nn.SemiringConv2d(3, 4, 3, semiring="max-plus"), 2, 3, 6, 6),
}


def packed_lstm() -> tuple:
    sequences = [randn(4, 3), randn(2, 3), randn(3, 3)]
    packed = torch.nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False)
    return (*twin("LSTM", 3, 4), (packed,))


def rnn_base() -> tuple:
    """RNNBase("LSTM", …) runs as an LSTM (torch's RNNBase has no forward: its LSTM is the reference)."""
    theirs = torch.nn.LSTM(3, 4, num_layers=2)
    ours = nn.RNNBase("LSTM", 3, 4, num_layers=2)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs, (randn(5, 2, 3),)


MODULES |= {
    "LSTM": same("LSTM", 5, 2, 3, args=(3, 4), num_layers=2, bidirectional=True),
    "LSTM-proj-batch_first": same("LSTM", 2, 5, 3, args=(3, 4), proj_size=2, batch_first=True),
    "LSTM-packed": packed_lstm,
    "GRU-unbatched": same("GRU", 5, 3, args=(3, 4)),
    "RNN": same("RNN", 5, 2, 3, args=(3, 4), nonlinearity="relu", bias=False),
    "RNNBase": rnn_base,
    "LSTMCell": same("LSTMCell", 2, 3, args=(3, 4)),
    "GRUCell": same("GRUCell", 3, args=(3, 4)),
    "RNNCell": same("RNNCell", 2, 3, args=(3, 4)),
    # the cells' base class has no forward (in torch neither): its subclass GRUCell exercises it
    "RNNCellBase-as-GRUCell": same("GRUCell", 2, 3, args=(3, 4), bias=False),
}


def rand(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=_generator)


def classes(*shape: int, n: int = 5) -> torch.Tensor:
    return torch.randint(0, n, shape, generator=_generator)


def signs(*shape: int) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=_generator) * 2 - 1


def ctc_inputs() -> tuple:
    log_probs = randn(7, 2, 5).log_softmax(2)
    return log_probs, torch.tensor([[1, 2, 2], [3, 1, 0]]), torch.tensor([7, 6]), torch.tensor([3, 2])


LOSSES: dict[str, Callable[[], tuple]] = {
    "L1Loss": lambda: (*twin("L1Loss"), (randn(3, 4), randn(3, 4))),
    "MSELoss": lambda: (*twin("MSELoss", reduction="sum"), (randn(3, 4), randn(3, 4))),
    "HuberLoss": lambda: (*twin("HuberLoss", delta=0.5), (randn(3, 4), randn(3, 4))),
    "SmoothL1Loss": lambda: (*twin("SmoothL1Loss", beta=0.5), (randn(3, 4), randn(3, 4))),
    "KLDivLoss": lambda: (
        *twin("KLDivLoss", reduction="batchmean"),
        (randn(3, 4).log_softmax(1), rand(3, 4)),
    ),
    "PoissonNLLLoss": lambda: (*twin("PoissonNLLLoss", full=True), (randn(3, 4), 3 * rand(3, 4))),
    "GaussianNLLLoss": lambda: (*twin("GaussianNLLLoss"), (randn(3, 4), randn(3, 4), rand(3, 1) + 0.1)),
    "NLLLoss": lambda: (*twin("NLLLoss", weight=rand(5)), (randn(4, 5).log_softmax(1), classes(4))),
    "NLLLoss2d": lambda: (*twin("NLLLoss2d"), (randn(2, 5, 3, 3).log_softmax(1), classes(2, 3, 3))),
    "CrossEntropyLoss": lambda: (
        *twin("CrossEntropyLoss", weight=rand(5), label_smoothing=0.1),
        (randn(4, 5, 3), torch.tensor([[0, 4, -100], [1, 2, 3], [4, 4, 0], [2, 1, 0]])),
    ),
    "CrossEntropyLoss-probabilities": lambda: (
        *twin("CrossEntropyLoss"),
        (randn(4, 5), rand(4, 5).softmax(1)),
    ),
    "BCELoss": lambda: (*twin("BCELoss", weight=rand(4)), (0.05 + 0.9 * rand(3, 4), rand(3, 4))),
    "BCEWithLogitsLoss": lambda: (*twin("BCEWithLogitsLoss", pos_weight=rand(4)), (randn(3, 4), rand(3, 4))),
    "HingeEmbeddingLoss": lambda: (*twin("HingeEmbeddingLoss"), (randn(3, 4), signs(3, 4))),
    "MarginRankingLoss": lambda: (*twin("MarginRankingLoss", margin=0.2), (randn(6), randn(6), signs(6))),
    "MultiMarginLoss": lambda: (*twin("MultiMarginLoss", p=2, weight=rand(5)), (randn(4, 5), classes(4))),
    "MultiLabelMarginLoss": lambda: (
        *twin("MultiLabelMarginLoss"),
        (randn(2, 4), torch.tensor([[3, 0, -1, 1], [1, 2, 0, -1]])),
    ),
    "MultiLabelSoftMarginLoss": lambda: (*twin("MultiLabelSoftMarginLoss"), (randn(3, 4), rand(3, 4))),
    "SoftMarginLoss": lambda: (*twin("SoftMarginLoss"), (randn(3, 4), signs(3, 4))),
    "CosineEmbeddingLoss": lambda: (
        *twin("CosineEmbeddingLoss", margin=0.1),
        (randn(4, 3), randn(4, 3), signs(4)),
    ),
    "TripletMarginLoss": lambda: (
        *twin("TripletMarginLoss", swap=True),
        (randn(4, 3), randn(4, 3), randn(4, 3)),
    ),
    "TripletMarginWithDistanceLoss": lambda: (
        *twin("TripletMarginWithDistanceLoss", margin=0.5),
        (randn(4, 3), randn(4, 3), randn(4, 3)),
    ),
    "CTCLoss": lambda: (*twin("CTCLoss"), ctc_inputs()),
    "AdaptiveLogSoftmaxWithLoss": lambda: (
        *twin("AdaptiveLogSoftmaxWithLoss", 8, 10, [3, 6]),
        (randn(6, 8), torch.tensor([0, 9, 4, 2, 7, 5])),
    ),
    "LinearCrossEntropyLoss": lambda: (
        *twin("LinearCrossEntropyLoss", 4, 3, bias=True),
        (randn(5, 4), classes(5, n=3)),
    ),
}
MODULES.update(LOSSES)
# Modules whose forward differs between train and eval: both modes compile.
MODED: dict[str, Callable[[], tuple]] = {
    "Dropout": same("Dropout", 4, 50, args=(0.3,)),
    "Dropout1d": same("Dropout1d", 4, 6, 10, args=(0.3,)),
    "Dropout2d": same("Dropout2d", 4, 6, 3, 3, args=(0.3,)),
    "Dropout3d": same("Dropout3d", 2, 6, 2, 3, 3, args=(0.3,)),
    "AlphaDropout": same("AlphaDropout", 4, 50, args=(0.3,)),
    "FeatureAlphaDropout": same("FeatureAlphaDropout", 4, 6, 3, 3, args=(0.3,)),
    "BatchNorm1d": same("BatchNorm1d", 3, 4, 6, args=(4,)),
    "BatchNorm2d": same("BatchNorm2d", 3, 4, 5, 5, args=(4,)),
    "BatchNorm3d": same("BatchNorm3d", 2, 4, 3, 3, 3, args=(4,), momentum=None),
    "InstanceNorm1d": same("InstanceNorm1d", 3, 4, 6, args=(4,), affine=True, track_running_stats=True),
    "InstanceNorm2d": same("InstanceNorm2d", 3, 4, 5, 5, args=(4,), track_running_stats=True),
    "InstanceNorm3d": same("InstanceNorm3d", 2, 4, 3, 3, 3, args=(4,), affine=True),
}
for _name, _factory in MODED.items():
    MODULES[f"{_name}-train"] = _factory
    MODULES[f"{_name}-eval"] = _factory
# MultiheadAttention (dropout 0): one case in each mode
MODULES["MultiheadAttention-train"] = lambda: (
    *twin("MultiheadAttention", 8, 2, batch_first=True),
    (randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 8)),
)
MODULES["MultiheadAttention-masked-eval"] = lambda: (
    *twin("MultiheadAttention", 8, 2, kdim=6, vdim=4, bias=False, add_bias_kv=True),
    (randn(5, 2, 8), randn(7, 2, 6), randn(7, 2, 4)),
    {"key_padding_mask": torch.tensor([[False] * 6 + [True], [False] * 7])},
)

# padding modules: each kind in 1, 2 and 3 dims
_PADDED = {1: (2, 3, 5), 2: (2, 3, 4, 5), 3: (1, 2, 3, 4, 5)}
_PADDINGS = {1: (2, 1), 2: (1, 2, 0, 1), 3: 1}
for _n in (1, 2, 3):
    for _kind in ("Circular", "Reflection", "Replication", "Zero"):
        MODULES[f"{_kind}Pad{_n}d"] = same(f"{_kind}Pad{_n}d", *_PADDED[_n], args=(_PADDINGS[_n],))
    MODULES[f"ConstantPad{_n}d"] = same(f"ConstantPad{_n}d", *_PADDED[_n], args=(_PADDINGS[_n], 0.5))


def lazy(name: str, *args: Any, shape: tuple[int, ...], **kwargs: Any) -> Callable[[], tuple]:
    """A lazy module on both sides, materialized by one eager call under the same seed (torch's
    initialization is drawn in torch's order: the parameters and running statistics agree). The
    compiled and fuzzed module is the one it became; tests/test_lazy.py covers the first call."""

    def make() -> tuple:
        x = randn(*shape)
        modules = []
        for namespace in (nn, torch.nn):
            torch.manual_seed(0)
            module = getattr(namespace, name)(*args, **kwargs)
            module(x)
            modules.append(module)
        return modules[0], modules[1], (x,)

    return make


MODULES |= {
    "LazyLinear": lazy("LazyLinear", 4, shape=(2, 5, 3)),
    "LazyConv1d": lazy("LazyConv1d", 4, 3, shape=(2, 6, 9), stride=2, padding=1),
    "LazyConv2d": lazy("LazyConv2d", 6, 3, shape=(2, 3, 8, 7), dilation=2, bias=False),
    # batch 2: torch's CPU conv3d returns a batch of 1 contiguous even for channels_last_3d input
    "LazyConv3d": lazy("LazyConv3d", 2, (1, 2, 3), shape=(2, 3, 4, 5, 6), padding="same"),
    "LazyConvTranspose1d": lazy("LazyConvTranspose1d", 4, 3, shape=(2, 6, 5), stride=2, output_padding=1),
    "LazyConvTranspose2d": lazy("LazyConvTranspose2d", 4, 3, shape=(2, 4, 5, 4), groups=2, dilation=2),
    "LazyConvTranspose3d": lazy("LazyConvTranspose3d", 2, 2, shape=(1, 3, 3, 4, 5), bias=False),
    "LazyBatchNorm1d": lazy("LazyBatchNorm1d", shape=(8, 3)),
    "LazyBatchNorm2d": lazy("LazyBatchNorm2d", shape=(4, 3, 5, 5)),
    "LazyBatchNorm3d": lazy("LazyBatchNorm3d", shape=(2, 3, 3, 4, 5), momentum=None),
    "LazyInstanceNorm1d": lazy("LazyInstanceNorm1d", shape=(2, 3, 7), affine=True),
    "LazyInstanceNorm2d": lazy("LazyInstanceNorm2d", shape=(2, 3, 5, 5)),
    "LazyInstanceNorm3d": lazy("LazyInstanceNorm3d", shape=(2, 3, 3, 4, 5), track_running_stats=True),
}

_LAYER = {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0}  # dropout 0: the same values


def stacked(name: str, layer: str, num_layers: int, inputs: Callable[[], tuple], **kwargs: Any) -> Callable:
    """TransformerEncoder / TransformerDecoder of ``num_layers`` copies of a layer, on both sides."""

    def make() -> tuple:
        theirs = getattr(torch.nn, name)(getattr(torch.nn, layer)(**_LAYER, **kwargs), num_layers)
        ours = getattr(nn, name)(getattr(nn, layer)(**_LAYER, **kwargs), num_layers)
        ours.load_state_dict(theirs.state_dict())
        return ours, theirs, inputs()

    return make


MODULES |= {
    "Transformer": lambda: (
        *twin("Transformer", num_encoder_layers=1, num_decoder_layers=1, **_LAYER),
        (randn(5, 2, 8), randn(4, 2, 8)),
    ),
    "Transformer-masked-eval": lambda: (
        *twin("Transformer", num_encoder_layers=1, num_decoder_layers=1, batch_first=True, **_LAYER),
        (randn(2, 5, 8), randn(2, 4, 8)),
        {"tgt_mask": torch.nn.Transformer.generate_square_subsequent_mask(4), "tgt_is_causal": True},
    ),
    "TransformerEncoderLayer": lambda: (
        *twin("TransformerEncoderLayer", norm_first=True, **_LAYER),
        (randn(5, 2, 8),),
    ),
    "TransformerEncoderLayer-eval": lambda: (
        *twin("TransformerEncoderLayer", batch_first=True, **_LAYER),
        (randn(2, 5, 8),),
        {"src_key_padding_mask": torch.tensor([[False] * 4 + [True], [False] * 5])},
    ),
    "TransformerDecoderLayer": lambda: (
        *twin("TransformerDecoderLayer", activation="gelu", **_LAYER),
        (randn(4, 2, 8), randn(5, 2, 8)),
    ),
    "TransformerEncoder": stacked(
        "TransformerEncoder", "TransformerEncoderLayer", 2, lambda: (randn(5, 2, 8),)
    ),
    "TransformerDecoder": stacked(
        "TransformerDecoder", "TransformerDecoderLayer", 2, lambda: (randn(4, 2, 8), randn(5, 2, 8))
    ),
}


def _base(case: str) -> str:
    """The exported name a case tests: ``"Conv2d-depthwise-dilated"`` → ``"Conv2d"``."""
    return case.split("-", 1)[0]


@pytest.mark.parametrize("case", [pytest.param(case, marks=_known(case)) for case in MODULES])
def test_module_compiles_without_graph_breaks(case):
    _compile_module(case, BACKEND)


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(case, marks=_known(case)) for case in MODULES])
def test_module_compiles_with_aot_autograd(case):
    _compile_module(case, FULL_BACKEND)


def _compile_module(case: str, backend: str) -> None:
    """Compiled ``ours`` equals ``theirs``: outputs, input and parameter gradients, buffers."""
    made = MODULES[case]()
    ours, theirs, inputs = made[:3]
    kwargs = made[3] if len(made) > 3 else {}
    if theirs is None:  # torch has no twin: our eager module is the reference
        theirs = copy.deepcopy(ours)
    training = not case.endswith("-eval")
    ours.train(training), theirs.train(training)
    fn = compiled(ours, backend)
    float_inputs = any(t.is_floating_point() for t in tensors_in([inputs, kwargs]))
    assert_matches_torch(fn, theirs, *inputs, grad=float_inputs, **kwargs)  # values, input gradients
    if case not in PARAMETERS_DIFFER:
        _assert_parameter_gradients_match(fn, ours, theirs, inputs, kwargs)
    for (name, mine), (_, reference) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_close(mine, reference, f"buffer {name} after the compiled calls")  # running stats


PARAMETERS_DIFFER = {"conv_transpose_to_subpixel": "a 1×1 conv's weight against torch's transposed one"}


def _assert_parameter_gradients_match(fn, ours, theirs, inputs, kwargs) -> None:
    names = [name for name, p in theirs.named_parameters() if p.requires_grad]
    assert names == [name for name, p in ours.named_parameters() if p.requires_grad]
    if not names:
        return
    grads = []
    for call, module in ((fn, ours), (theirs, theirs)):
        # inputs as assert_matches_torch passes them (float leaves needing gradients): no recompile
        leaves = [t.detach().requires_grad_(t.is_floating_point()) for t in inputs]
        torch.manual_seed(0)
        outs = [t for t in tensors_in(call(*leaves, **kwargs)) if t.requires_grad]
        generator = torch.Generator().manual_seed(1)
        cotangents = [torch.randn(t.shape, generator=generator) for t in outs]
        parameters = [p for p in module.parameters() if p.requires_grad]
        grads.append(torch.autograd.grad(outs, parameters, cotangents, allow_unused=True))
    for name, mine, reference in zip(names, *grads):
        if reference is None:
            assert mine is None or not mine.any(), f"gradient of {name}: ours is nonzero where torch has none"
            continue
        assert mine is not None, f"gradient of {name}: ours is missing"
        assert_close(mine, reference, f"gradient of {name}")


# --------------------------------------------------------------------------------------------
# functional ops: name -> (args, kwargs); compared with torch.nn.functional's op of the same
# name, with THEIRS[name], or (None) with our own eager op.

X = (2, 4, 6)
THEIRS: dict[str, Callable | None] = {
    "bmm": torch.bmm,
    "mm": torch.mm,
    "matmul": torch.matmul,
    "pixel_shuffle_nd": None,
    "pixel_unshuffle_nd": None,
    **dict.fromkeys(["closing2d", "dilation2d", "erosion2d", "gradient2d", "opening2d", "tophat2d"]),
    **dict.fromkeys(["semiring_conv1d", "semiring_conv2d", "semiring_conv3d"]),
    **{name: getattr(torch, name) for name in ("lstm", "gru", "rnn_tanh", "rnn_relu")},
    **{name: getattr(torch, name) for name in ("lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell")},
    # torch's native_channel_shuffle has no derivative: channel_shuffle is the same op
    "native_channel_shuffle": torch_F.channel_shuffle,
    **{name: getattr(torch, name) for name in ("addbmm", "addmm", "addmv", "baddbmm", "mv", "einsum")},
}


def _samples_detached(name: str) -> Callable:
    """torch refuses ``_random_samples`` that require grad (assert_matches_torch makes every
    floating leaf one)."""

    def call(*args: Any, _random_samples: torch.Tensor, **kwargs: Any) -> Any:
        return getattr(torch_F, name)(*args, _random_samples=_random_samples.detach(), **kwargs)

    return call


for _n in (2, 3):
    for _suffix in ("", "_with_indices"):
        THEIRS[f"fractional_max_pool{_n}d{_suffix}"] = _samples_detached(f"fractional_max_pool{_n}d{_suffix}")


def _mha_args() -> tuple[tuple, dict]:
    layer = torch.nn.MultiheadAttention(8, 2)
    q, k, v = randn(5, 2, 8), randn(7, 2, 8), randn(7, 2, 8)
    args = (q, k, v, 8, 2, layer.in_proj_weight.detach(), layer.in_proj_bias.detach(), None, None, False)
    return (*args, 0.0, layer.out_proj.weight.detach(), layer.out_proj.bias.detach()), {
        "attn_mask": torch.ones(5, 7, dtype=torch.bool).tril(),
        "need_weights": True,
    }


def _unpool(n: int) -> Callable[[], tuple[tuple, dict]]:
    def make() -> tuple[tuple, dict]:
        pooled, indices = getattr(torch_F, f"max_pool{n}d")(randn(2, 3, *[6] * n), 2, return_indices=True)
        return (pooled, indices, 2), {}

    return make


def _recurrent(name: str, **options: Any) -> Callable[[], tuple[tuple, dict]]:
    """torch.lstm & co. as torch.nn's modules call them (the padded overload)."""

    def make() -> tuple[tuple, dict]:
        from scratchnn.checks.rnn import layer_case

        return layer_case(name, **options)(_generator)

    return make


def _cell(name: str) -> Callable[[], tuple[tuple, dict]]:
    def make() -> tuple[tuple, dict]:
        from scratchnn.checks.rnn import cell_case

        return cell_case(name)(_generator)

    return make


def unary(**kwargs: Any) -> Callable[[], tuple[tuple, dict]]:
    return lambda: ((randn(*X),), kwargs)


UNARY = [
    "celu", "elu", "gelu", "glu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "logsigmoid", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "softplus", "softsign", "tanh", "tanhshrink",
]  # fmt: skip
FUNCTIONAL: dict[str, Callable[[], tuple[tuple, dict]]] = {
    **{name: unary() for name in UNARY},
    "conv_tbc": lambda: ((randn(7, 2, 3), randn(3, 3, 4), randn(4), 1), {}),
    "rrelu_": lambda: ((randn(2, 4, 6),), {"lower": 0.2, "upper": 0.6}),  # eval: in place, deterministic
    "softmax": unary(dim=-1),
    "log_softmax": unary(dim=1),
    "normalize": unary(dim=1),
    "prelu": lambda: ((randn(*X), randn(4)), {}),
    "dropout": lambda: ((randn(4, 50), 0.3), {}),
    "alpha_dropout": lambda: ((randn(4, 50), 0.3), {"training": True}),
    "feature_alpha_dropout": lambda: ((randn(4, 6, 3, 3), 0.3), {"training": True}),
    "dropout1d": lambda: ((randn(4, 6, 10), 0.3), {}),
    "dropout2d": lambda: ((randn(4, 6, 10), 0.3), {}),  # 3-D: torch warns; compiled, we stay silent
    "dropout3d": lambda: ((randn(2, 6, 2, 3, 3), 0.3), {}),
    "linear": lambda: ((randn(4, 5), randn(3, 5), randn(3)), {}),
    "bilinear": lambda: ((randn(2, 3), randn(2, 4), randn(5, 3, 4), randn(5)), {}),
    "bmm": lambda: ((randn(3, 4, 5), randn(3, 5, 2)), {}),
    "mm": lambda: ((randn(4, 5), randn(5, 2)), {}),
    "matmul": lambda: ((randn(2, 1, 4, 5), randn(3, 5, 2)), {}),
    "conv1d": lambda: ((randn(2, 4, 9), randn(6, 2, 3)), {"groups": 2, "dilation": 2}),
    "conv2d": lambda: ((randn(2, 4, 7, 7), randn(6, 4, 3, 3), randn(6)), {"stride": 2, "padding": 1}),
    "conv3d": lambda: ((randn(1, 2, 5, 5, 5), randn(3, 2, 3, 3, 3)), {"padding": "same"}),
    "conv_transpose1d": lambda: ((randn(2, 4, 6), randn(4, 3, 3)), {"stride": 2}),
    "conv_transpose2d": lambda: ((randn(2, 4, 5, 5), randn(4, 1, 3, 3)), {"stride": 2, "groups": 2}),
    "conv_transpose3d": lambda: ((randn(1, 2, 3, 3, 3), randn(2, 3, 2, 2, 2)), {"stride": 2}),
    "pad": lambda: ((randn(2, 3, 5, 5), (1, 2, 0, 1)), {"mode": "reflect"}),
    "fold": lambda: ((randn(2, 12, 12), (4, 5), 2), {}),
    "unfold": lambda: ((randn(2, 3, 6, 7), 2), {"dilation": 2, "padding": 1}),
    "pixel_shuffle": lambda: ((randn(2, 8, 3, 3), 2), {}),
    "pixel_unshuffle": lambda: ((randn(2, 2, 4, 6), 2), {}),
    "pixel_shuffle_nd": lambda: ((randn(2, 16, 2, 3, 2), 2, 3), {}),
    "pixel_unshuffle_nd": lambda: ((randn(2, 2, 4, 2, 6), 2, 3), {}),
    "embedding": lambda: ((torch.tensor([[1, 0, 9], [4, 4, 2]]), randn(10, 3)), {"padding_idx": 0}),
    "embedding_bag": lambda: (
        (torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), randn(10, 3), torch.tensor([0, 3, 3, 6])),
        {"mode": "max"},
    ),
    "batch_norm": lambda: ((randn(3, 4, 5), None, None, randn(4), randn(4)), {"training": True}),
    "instance_norm": lambda: ((randn(3, 4, 5, 5),), {}),
    "group_norm": lambda: ((randn(2, 4, 5, 5), 2, randn(4), randn(4)), {}),
    "layer_norm": lambda: ((randn(*X), (6,), randn(6), randn(6)), {}),
    "rms_norm": lambda: ((randn(*X), (4, 6)), {"eps": 1e-6}),
    "local_response_norm": lambda: ((randn(2, 6, 5, 5), 3), {}),
    "scaled_dot_product_attention": lambda: ((randn(2, 2, 5, 8), randn(2, 2, 7, 8), randn(2, 2, 7, 4)), {}),
    "scaled_dot_product_attention-causal-gqa": lambda: (
        (randn(2, 4, 5, 8), randn(2, 2, 7, 8), randn(2, 2, 7, 4)),
        {"is_causal": True, "enable_gqa": True},
    ),
    "scaled_dot_product_attention-mask": lambda: (
        (randn(2, 2, 5, 8), randn(2, 2, 7, 8), randn(2, 2, 7, 4), randn(5, 7)),
        {"scale": 0.3},
    ),
    "multi_head_attention_forward": _mha_args,
    "avg_pool1d": lambda: ((randn(2, 3, 9), 3, 2), {}),
    "avg_pool2d": lambda: ((randn(2, 3, 7, 7), 3, 2, 1), {"divisor_override": 4}),
    "avg_pool3d": lambda: ((randn(1, 2, 4, 4, 4), 2), {}),
    "max_pool1d": lambda: ((randn(2, 3, 9), 3, 2), {"return_indices": True}),
    "max_pool2d": lambda: ((randn(2, 3, 7, 7), 3, 2, 1), {"dilation": 2}),
    "max_pool3d": lambda: ((randn(1, 2, 4, 4, 4), 2), {"ceil_mode": True}),
    "lp_pool1d": lambda: ((randn(2, 3, 9), 2.0, 3), {}),
    "lp_pool2d": lambda: ((randn(2, 3, 6, 6), 3.0, 2), {}),
    "lp_pool3d": lambda: ((randn(1, 2, 4, 4, 4), 2.0, 2), {}),
    "adaptive_avg_pool1d": lambda: ((randn(2, 3, 7), 3), {}),
    "adaptive_avg_pool2d": lambda: ((randn(2, 3, 7, 5), (3, 2)), {}),
    "adaptive_avg_pool3d": lambda: ((randn(1, 2, 5, 5, 5), 3), {}),
    "adaptive_max_pool1d": lambda: ((randn(2, 3, 7), 3), {}),
    "adaptive_max_pool2d": lambda: ((randn(2, 3, 7, 5), (3, 2)), {"return_indices": True}),
    "adaptive_max_pool3d": lambda: ((randn(1, 2, 5, 5, 5), 3), {}),
    "max_unpool1d": _unpool(1),
    "max_unpool2d": _unpool(2),
    "max_unpool3d": _unpool(3),
    "interpolate": lambda: ((randn(2, 3, 4, 5),), {"scale_factor": 2, "mode": "bicubic"}),
    "interpolate-linear": lambda: ((randn(2, 3, 5),), {"size": 8, "mode": "linear", "align_corners": True}),
    "interpolate-nearest-exact": lambda: (
        (randn(1, 2, 3, 4, 5),),
        {"size": (4, 6, 7), "mode": "nearest-exact"},
    ),
    "interpolate-area": lambda: ((randn(2, 3, 7, 5),), {"size": (3, 2), "mode": "area"}),
    "closing2d": lambda: ((randn(2, 3, 6, 6), 3), {}),
    "dilation2d": lambda: ((randn(2, 3, 6, 6), 3), {}),
    "erosion2d": lambda: ((randn(2, 3, 6, 6),), {"structure": randn(3, 3)}),
    "gradient2d": lambda: ((randn(2, 3, 6, 6), (3, 2)), {}),
    "opening2d": lambda: ((randn(2, 3, 6, 6), 3), {"border_value": 0.0}),
    "tophat2d": lambda: ((randn(2, 3, 6, 6), 3), {}),
    "threshold": lambda: ((randn(*X), 0.2, -1.0), {}),
    "hardshrink": unary(lambd=0.3),
    "softshrink": unary(lambd=0.3),
    "rrelu": unary(lower=0.1, upper=0.4),
    "gumbel_softmax": lambda: ((randn(*X),), {"tau": 0.5, "hard": True}),  # the same seed on both sides
    "softmin": unary(dim=1),
    "cosine_similarity": lambda: ((randn(3, 4, 1), randn(4, 5)), {"dim": 1}),
    "pairwise_distance": lambda: ((randn(3, 5), randn(5)), {"p": 1.0, "keepdim": True}),
    "pdist": lambda: ((randn(5, 3),), {"p": 2.0}),
    "one_hot": lambda: ((torch.tensor([[0, 3], [2, 1]]), 5), {}),
    "channel_shuffle": lambda: ((randn(2, 6, 3), 2), {}),
    "native_channel_shuffle": lambda: ((randn(2, 6, 3), 3), {}),
    "affine_grid": lambda: ((randn(2, 2, 3), [2, 3, 4, 5]), {"align_corners": False}),
    "grid_sample": lambda: (
        (randn(2, 3, 4, 5), randn(2, 3, 2, 2)),
        {"mode": "bicubic", "padding_mode": "reflection", "align_corners": False},
    ),
    "grid_sample-3d": lambda: (
        (randn(1, 2, 3, 4, 5), randn(1, 2, 2, 2, 3)),
        {"mode": "bilinear", "padding_mode": "border", "align_corners": True},
    ),
    "fractional_max_pool2d": lambda: (
        (randn(2, 3, 7, 8), 2),
        {"output_size": 3, "_random_samples": randn(2, 3, 2).abs() % 1},
    ),
    "fractional_max_pool2d_with_indices": lambda: (
        (randn(1, 2, 7, 8), 2),
        {"output_size": 3, "_random_samples": torch.rand(1, 2, 2)},
    ),
    "fractional_max_pool3d": lambda: (
        (randn(1, 2, 5, 6, 7), 2),
        {"output_size": 2, "_random_samples": torch.rand(1, 2, 3)},
    ),
    "fractional_max_pool3d_with_indices": lambda: (
        (randn(2, 5, 6, 7), 2),
        {"output_ratio": 0.5, "_random_samples": torch.rand(1, 2, 3)},
    ),
    "semiring_conv1d": lambda: ((randn(2, 4, 9), randn(6, 2, 3)), {"groups": 2, "semiring": "min-plus"}),
    "semiring_conv2d": lambda: ((randn(2, 3, 6, 6), randn(4, 3, 3, 3)), {"padding": 1, "semiring": "l1"}),
    "semiring_conv3d": lambda: ((randn(1, 2, 4, 4, 4), randn(3, 2, 2, 2, 2)), {"semiring": "logsumexp-plus"}),
    "lstm": _recurrent("lstm", num_layers=2, bidirectional=True, hidden=5, proj_size=2),
    "gru": _recurrent("gru", batch_first=True, bias=False),
    "rnn_tanh": _recurrent("rnn_tanh", num_layers=2),
    "rnn_relu": _recurrent("rnn_relu", bidirectional=True),
    **{name: _cell(name) for name in ("lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell")},
    # losses (weights, which torch does not differentiate, are in the module cases, as buffers)
    "l1_loss": lambda: ((randn(3, 4), randn(3, 4)), {}),
    "mse_loss": lambda: ((randn(3, 4), randn(4)), {}),
    "huber_loss": lambda: ((randn(3, 4), randn(3, 4)), {"delta": 2.0}),
    "smooth_l1_loss": lambda: ((randn(3, 4), randn(3, 4)), {"beta": 0.0}),
    "kl_div": lambda: ((randn(3, 4).log_softmax(1), randn(3, 4).log_softmax(1)), {"log_target": True}),
    "poisson_nll_loss": lambda: ((rand(3, 4) + 0.1, 3 * rand(3, 4)), {"log_input": False}),
    "gaussian_nll_loss": lambda: ((randn(3, 4), randn(3, 4), rand(3, 4) + 0.1), {"full": True}),
    "nll_loss": lambda: ((randn(2, 5, 3).log_softmax(1), classes(2, 3)), {"ignore_index": 1}),
    "cross_entropy": lambda: ((randn(4, 5), classes(4)), {"label_smoothing": 0.2}),
    "cross_entropy-probabilities": lambda: ((randn(2, 5, 3), rand(2, 5, 3).softmax(1)), {}),
    "binary_cross_entropy": lambda: ((0.05 + 0.9 * rand(3, 4), rand(3, 4)), {"reduction": "sum"}),
    "binary_cross_entropy_with_logits": lambda: ((randn(3, 4), rand(3, 4)), {}),
    "hinge_embedding_loss": lambda: ((randn(3, 4), signs(3, 4)), {"margin": 0.5}),
    "margin_ranking_loss": lambda: ((randn(6), randn(6), signs(6)), {}),
    "multi_margin_loss": lambda: ((randn(4, 5), classes(4)), {"margin": 0.5}),
    "multilabel_margin_loss": lambda: ((randn(4), torch.tensor([2, 2, -1, 0])), {}),
    "multilabel_soft_margin_loss": lambda: ((randn(3, 4), rand(3, 4)), {"reduction": "none"}),
    "soft_margin_loss": lambda: ((randn(3, 4), signs(3, 4)), {}),
    "cosine_embedding_loss": lambda: ((randn(4, 3), randn(4, 3), signs(4)), {}),
    "triplet_margin_loss": lambda: ((randn(4, 3), randn(4, 3), randn(4, 3)), {"p": 1.0}),
    "triplet_margin_with_distance_loss": lambda: ((randn(4, 3), randn(4, 3), randn(4, 3)), {"swap": True}),
    "ctc_loss": lambda: (ctc_inputs(), {"reduction": "sum"}),
    "ctc_loss-concatenated": lambda: (
        (
            randn(7, 2, 5).log_softmax(2),
            torch.tensor([1, 2, 2, 3, 1]),
            torch.tensor([7, 6]),
            torch.tensor([3, 2]),
        ),
        {"zero_infinity": True},
    ),
    "linear_cross_entropy": lambda: (
        (randn(5, 4), randn(3, 2, 4), classes(5, 2, n=3)),
        {"label_smoothing": 0.1},
    ),
    # the tensor products
    "addbmm": lambda: ((randn(4, 2), randn(3, 4, 5), randn(3, 5, 2)), {"beta": 0.5, "alpha": 2.0}),
    "addmm": lambda: ((randn(2), randn(4, 5), randn(5, 2)), {"alpha": -1.0}),
    "addmv": lambda: ((randn(4), randn(4, 5), randn(5)), {"beta": 2.0}),
    "baddbmm": lambda: ((randn(3, 4, 2), randn(3, 4, 5), randn(3, 5, 2)), {}),
    "mv": lambda: ((randn(4, 5), randn(5)), {}),
    "einsum": lambda: (("bij,bjk,k->bi", randn(2, 3, 4), randn(2, 4, 5), randn(5)), {}),
    "einsum-diagonal-ellipsis": lambda: (("...ii->...i", randn(2, 3, 3)), {}),
    "grouped_mm": lambda: (
        (randn(10, 8), randn(3, 8, 4)),
        {"offs": torch.tensor([2, 6, 10], dtype=torch.int32)},
    ),
    "grouped_mm-batched": lambda: ((randn(3, 4, 8), randn(3, 8, 4)), {}),
    # the aliases: pooling with indices, upsampling
    "max_pool1d_with_indices": lambda: ((randn(2, 3, 9), 3, 2), {}),
    "max_pool2d_with_indices": lambda: ((randn(2, 3, 7, 7), 3, 2, 1), {"dilation": 2}),
    "max_pool3d_with_indices": lambda: ((randn(1, 2, 4, 4, 4), 2), {"ceil_mode": True}),
    "adaptive_max_pool1d_with_indices": lambda: ((randn(2, 3, 7), 3), {}),
    "adaptive_max_pool2d_with_indices": lambda: ((randn(2, 3, 7, 5), (3, 2)), {}),
    "adaptive_max_pool3d_with_indices": lambda: ((randn(1, 2, 5, 5, 5), 3), {}),
    "upsample": lambda: (
        (randn(2, 3, 4, 5),),
        {"scale_factor": 2, "mode": "bilinear", "align_corners": False},
    ),
    "upsample_bilinear": lambda: ((randn(2, 3, 4, 5),), {"scale_factor": 2}),
    "upsample_nearest": lambda: ((randn(2, 3, 4, 5),), {"size": (7, 9)}),
    # the in-place activations, compiled on a copy (an input that needs a gradient cannot change)
    **{name: unary() for name in ("celu_", "elu_", "relu_", "selu_")},
    "hardtanh_": unary(min_val=-0.5, max_val=0.5),
    "leaky_relu_": lambda: ((randn(*X), 0.2), {}),
    "threshold_": lambda: ((randn(*X), 0.2, -1.0), {}),
}


def _on_a_copy(op: Callable) -> Callable:
    """An in-place op applied to a copy of its first argument: what compiles and differentiates."""

    def call(input: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return op(input.clone(), *args, **kwargs)

    return call


def _reference(case: str) -> Callable:
    name = _base(case)
    if name in THEIRS:
        theirs = THEIRS[name]
        return getattr(F, name) if theirs is None else theirs
    return getattr(torch_F, name)


def _module_of(name: str) -> str | None:
    """The nn module whose forward is this functional op (``max_pool2d`` → ``MaxPool2d``), if any."""
    if name == "multi_head_attention_forward":
        return "MultiheadAttention"
    twins = {module.lower(): module for module in nn.__all__}
    return twins.get(name.replace("_", ""))


# The default sweep compiles the functional ops that no module case reaches; the slow sweep all.
UNCOVERED = [case for case in FUNCTIONAL if _module_of(_base(case)) is None]


def _compile_functional(case: str, backend: str) -> None:
    args, kwargs = FUNCTIONAL[case]()
    op, reference = getattr(F, _base(case)), _reference(case)
    if _base(case).endswith("_"):  # in place
        op, reference = _on_a_copy(op), _on_a_copy(reference)
    assert_matches_torch(compiled(op, backend), reference, *args, **kwargs)


@pytest.mark.parametrize("case", [pytest.param(case, marks=_known(case)) for case in UNCOVERED])
def test_functional_compiles_without_graph_breaks(case):
    _compile_functional(case, BACKEND)


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(case, marks=_known(case)) for case in FUNCTIONAL])
def test_every_functional_case_compiles_with_aot_autograd(case):
    _compile_functional(case, FULL_BACKEND)


def test_every_export_has_a_case():
    """A new layer must come with a compile case (or a reason in NOT_LAYERS)."""
    covered = {_base(case) for case in MODULES}
    assert sorted(set(nn.__all__) - covered) == [], "nn modules without a compile case"
    assert sorted(covered - set(nn.__all__)) == [], "compile cases of names nn does not export"
    covered = {_base(case) for case in FUNCTIONAL} | set(NOT_LAYERS)
    assert sorted(set(F.__all__) - covered) == [], "functional ops without a compile case"
    assert sorted(covered - set(F.__all__)) == [], "compile cases of names functional does not export"
    stale = set(KNOWN_BREAKS) - set(MODULES) - set(FUNCTIONAL)
    assert not stale, f"KNOWN_BREAKS names no case: {stale}"


# --------------------------------------------------------------------------------------------
# The contexts read at trace time


def _graph_calls(fn: Callable, *args: torch.Tensor) -> tuple[torch.Tensor, set]:
    """Compile ``fn`` with a backend that notes the calls in dynamo's graph; run it."""
    calls: set = set()

    def backend(graph_module: torch.fx.GraphModule, example_inputs: list) -> Callable:
        calls.update(node.target for node in graph_module.graph.nodes if node.op == "call_function")
        return graph_module.forward

    return compiled(fn, backend)(*args), calls


def test_contraction_form_is_read_at_trace_time():
    """``scratchnn.contraction`` is read when the function is traced (assume_constant_result): the
    fast form traces an einsum, the literal form (chunked under its budget) a broadcast product."""
    x, w = randn(4, 5), randn(3, 5)
    out, calls = _graph_calls(F.linear, x, w)
    assert torch.functional.einsum in calls or torch.einsum in calls
    assert_close(out, torch_F.linear(x, w))
    with scratchnn.contraction("literal", budget=64):  # the product, 4·3·5·4 B = 240 B: chunked
        out, calls = _graph_calls(F.linear, x, w)
    assert torch.functional.einsum not in calls and torch.einsum not in calls
    assert_close(out, torch_F.linear(x, w))


def test_recording_is_off_under_compile():
    """``scratchnn.explain``'s recording sees nothing of a compiled call (and does not break it)."""
    from scratchnn._trace import recording

    fn = compiled(F.conv2d)
    x, w = randn(1, 2, 5, 5), randn(3, 2, 3, 3)
    with recording() as steps:
        out = fn(x, w)
    assert steps == []
    assert_close(out, torch_F.conv2d(x, w))


def test_warnings_are_eager_only():
    """A deprecation warning would break the graph: compiled, the op is silent; eager, it warns."""
    x = randn(4, 6, 10)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(x, 0.3)
    compiled(lambda t: F.softmax(t) + F.dropout2d(t, 0.3, training=False))(x)  # no warning, no break


# --------------------------------------------------------------------------------------------
# Inductor (the default backend): slow, a few representative layers.

INDUCTOR = {
    "Conv2d": MODULES["Conv2d"],
    "Linear": MODULES["Linear"],
    "MaxPool2d": MODULES["MaxPool2d"],
    "LayerNorm": MODULES["LayerNorm"],
    "MultiheadAttention": MODULES["MultiheadAttention-train"],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(INDUCTOR))
def test_inductor_compiles_representative_layers(case):
    ours, theirs, inputs = INDUCTOR[case]()
    assert_matches_torch(compiled(ours, backend="inductor"), theirs, *inputs)


@pytest.mark.slow
def test_inductor_compiles_scaled_dot_product_attention():
    q, k, v = randn(2, 2, 16, 8), randn(2, 2, 16, 8), randn(2, 2, 16, 8)
    fn = compiled(F.scaled_dot_product_attention, backend="inductor")
    assert_matches_torch(fn, torch_F.scaled_dot_product_attention, q, k, v, is_causal=True)
    assert math.isfinite(float(fn(q, k, v).sum()))
