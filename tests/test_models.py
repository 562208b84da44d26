"""Whole models on scratch layers: five small in-repo models (no downloads), run natively, under
``scratchnn.mode(strict=True)`` and after ``scratchnn.convert``; outputs, parameter gradients and
buffers equal torch's (float64 tight, float32 1e-4 relative), in train and eval modes, and 20
optimizer steps give the same loss curve.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as torch_F
from torch import nn

import scratchnn
from helpers import assert_close

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


# --- the models --------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3×3 conv + batch norm, a projection shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.layers = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 16, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes))

    def forward(self, x):  # (b, 3, 16, 16) → (b, classes)
        return self.head(self.layers(self.stem(x)))


class InvertedResidual(nn.Module):
    """MobileNetV3's block: 1×1 expand, 3×3 depthwise, squeeze-and-excite, 1×1 project."""

    def __init__(self, c_in: int, hidden: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.expand = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.Hardswish()
        )
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.Hardswish(),
        )
        self.excite = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(hidden, hidden // 4, 1),
            nn.ReLU(),
            nn.Conv2d(hidden // 4, hidden, 1),
            nn.Hardsigmoid(),
        )
        self.project = nn.Sequential(nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        h = self.depthwise(self.expand(x))
        out = self.project(h * self.excite(h))
        return x + out if self.residual else out


class MobileNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish()),
            InvertedResidual(8, 16, 8, 1),
            InvertedResidual(8, 24, 12, 2),
            nn.Sequential(nn.Conv2d(12, 32, 1, bias=False), nn.BatchNorm2d(32), nn.Hardswish()),
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(32, 16),
            nn.Hardswish(),
            nn.Dropout(0.2),
            nn.Linear(16, classes),
        )

    def forward(self, x):  # (b, 3, 16, 16) → (b, classes)
        return self.classifier(self.features(x))


class ViT(nn.Module):
    """Patches → class token + positions → pre-norm torch.nn.TransformerEncoder → head."""

    def __init__(self, classes: int = 10, dim: int = 16, patch: int = 4, image: int = 16) -> None:
        super().__init__()
        tokens = (image // patch) ** 2 + 1
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.dropout = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(
            dim, 2, 32, dropout=0.1, activation="gelu", batch_first=True, norm_first=True
        )
        layer.self_attn.dropout = 0.0  # attention-weight dropout: see the module docstring
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):  # (b, 3, 16, 16) → (b, classes)
        x = self.patch(x).flatten(2).transpose(1, 2)  # b (h w) d
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.encoder(self.dropout(x))
        return self.head(self.norm(x[:, 0]))


class GPTBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"), nn.Linear(4 * dim, dim), nn.Dropout(0.1)
        )

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attention(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token + position embeddings, causal pre-norm blocks, head tied to the token embedding."""

    def __init__(
        self, vocab: int = 32, context: int = 8, dim: int = 16, heads: int = 2, layers: int = 2
    ) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(context, dim)
        self.dropout = nn.Dropout(0.1)
        self.blocks = nn.ModuleList([GPTBlock(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.tokens.weight

    def forward(self, idx):  # (b, t) token ids → (b, t, vocab) logits
        t = idx.shape[1]
        x = self.dropout(self.tokens(idx) + self.positions(torch.arange(t, device=idx.device)))
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=idx.device), 1)  # True: may not attend
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x))


def unet_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.GroupNorm(4, c_out),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.GroupNorm(4, c_out),
        nn.ReLU(),
    )


class UNet(nn.Module):
    """Two levels down (max pool), up by a transposed conv and by bilinear interpolation."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.enc1, self.enc2, self.bottom = unet_block(3, 8), unet_block(8, 16), unet_block(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = unet_block(32, 16)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(16, 8, 1))
        self.dec1 = unet_block(16, 8)
        self.out = nn.Conv2d(8, classes, 1)

    def forward(self, x):  # (b, 3, 16, 16) → (b, classes, 16, 16)
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        bottom = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(bottom), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.out(d1)


# --- what each model needs, inputs and losses ----------------------------------------------------


@dataclass(frozen=True)
class Spec:
    name: str
    build: type[nn.Module]
    functional: tuple[str, ...]  # scratchnn.functional ops the mode routes to
    modules: tuple[str, ...]  # scratchnn.nn twins convert swaps in
    batch: int = 4

    def inputs(self, dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        if self.build is GPT:
            idx = torch.randint(0, 32, (self.batch, 8), generator=generator)
            return idx, torch.randint(0, 32, (self.batch, 8), generator=generator)
        x = torch.randn(self.batch, 3, 16, 16, generator=generator, dtype=dtype)
        if self.build is UNet:
            return x, torch.randint(0, 3, (self.batch, 16, 16), generator=generator)
        return x, torch.randint(0, 10, (self.batch,), generator=generator)

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.build is GPT:
            return torch_F.cross_entropy(out.flatten(0, 1), target.flatten())
        return torch_F.cross_entropy(out, target)


SPECS = [
    Spec(
        "resnet",
        ResNet,
        ("conv2d", "batch_norm", "relu", "max_pool2d", "adaptive_avg_pool2d", "linear"),
        ("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AdaptiveAvgPool2d", "Linear"),
    ),
    Spec(
        "mobilenet",
        MobileNet,
        (
            "conv2d",
            "batch_norm",
            "hardswish",
            "hardsigmoid",
            "relu",
            "adaptive_avg_pool2d",
            "linear",
            "dropout",
        ),
        (
            "Conv2d",
            "BatchNorm2d",
            "Hardswish",
            "Hardsigmoid",
            "ReLU",
            "AdaptiveAvgPool2d",
            "Linear",
            "Dropout",
        ),
    ),
    Spec(
        "vit",
        ViT,
        ("conv2d", "layer_norm", "multi_head_attention_forward", "linear", "gelu", "dropout"),
        ("Conv2d", "LayerNorm", "MultiheadAttention", "Linear", "Dropout"),
        batch=2,
    ),
    Spec(
        "gpt",
        GPT,
        ("embedding", "layer_norm", "multi_head_attention_forward", "linear", "gelu", "dropout"),
        ("Embedding", "LayerNorm", "MultiheadAttention", "Linear", "GELU", "Dropout"),
        batch=2,
    ),
    Spec(
        "unet",
        UNet,
        ("conv2d", "group_norm", "relu", "max_pool2d", "conv_transpose2d", "interpolate"),
        ("Conv2d", "GroupNorm", "ReLU", "MaxPool2d", "ConvTranspose2d", "Upsample"),
        batch=2,
    ),
]


def cases(hows=("mode", "convert"), dtypes=(torch.float64, torch.float32), trains=(True, False)):
    params = []
    for spec in SPECS:
        for how in hows:
            for dtype in dtypes:
                for train in trains:
                    mode = "train" if train else "eval"
                    ident = f"{spec.name}-{how}-{str(dtype).removeprefix('torch.')}-{mode}"
                    params.append(pytest.param(spec, how, dtype, train, id=ident))
    return params


def build(spec: Spec, dtype: torch.dtype, train: bool) -> nn.Module:
    torch.manual_seed(0)
    model = spec.build().to(dtype)
    if train:
        return model.train()
    with torch.no_grad():  # eval with non-trivial running statistics
        model.train()(spec.inputs(dtype, seed=1)[0])
    return model.eval()


def candidate(spec: Spec, model: nn.Module, how: str):
    """The scratch version of ``model`` and the context to run it in."""
    if how == "mode":
        return copy.deepcopy(model), lambda: scratchnn.mode(strict=True)
    converted, report = scratchnn.convert(model)
    assert report.ok, f"left native after convert:\n{report}"
    return converted, lambda: scratchnn.mode(strict=True)  # the mode audits: nothing may reach it


def forward_backward(model: nn.Module, x: torch.Tensor, seed: int = 0):
    torch.manual_seed(seed)  # the same dropout masks on both sides
    out = model(x)
    cotangent = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=out.dtype)
    out.backward(cotangent)
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    return out.detach(), grads


def tolerance(dtype: torch.dtype) -> dict:
    return {} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-4}


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, how, dtype, train", cases())
def test_outputs_gradients_and_buffers_equal_torch(spec, how, dtype, train):
    reference = build(spec, dtype, train)
    ours, context = candidate(spec, reference, how)
    x, _ = spec.inputs(dtype)
    expected, expected_grads = forward_backward(reference, x)
    with context() as m:
        out, grads = forward_backward(ours, x)
    assert not m.fallback
    if how == "mode":
        assert set(m.routed) <= set(spec.functional) and m.routed
    else:
        assert not m.routed, f"a converted model called torch layer ops: {dict(m.routed)}"
    assert_close(out, expected, "output", **tolerance(dtype))
    assert list(grads) == list(expected_grads)
    for name, grad in expected_grads.items():
        assert_close(grads[name], grad, f"gradient of {name}", **tolerance(dtype))
    for (name, buffer), (_, theirs) in zip(ours.named_buffers(), reference.named_buffers(), strict=True):
        assert_close(buffer, theirs, f"buffer {name}", **tolerance(dtype))
    if not train:  # inference: torch may take its fused fast paths here; the scratch side may not
        with torch.no_grad():
            expected = reference(x)
            with context():
                out = ours(x)
        assert_close(out, expected, "inference output", **tolerance(dtype))


def loss_curve(spec: Spec, model: nn.Module, context=None, steps: int = 20) -> torch.Tensor:
    """Losses of ``steps`` SGD-with-momentum steps on four fixed batches (float64, train mode)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    torch.manual_seed(0)
    losses = []
    for step in range(steps):
        x, target = spec.inputs(torch.float64, seed=step % 4)
        optimizer.zero_grad()
        if context is None:
            out = model(x)
        else:
            with context():
                out = model(x)
        loss = spec.loss(out, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float64)


_reference_curves: dict[str, torch.Tensor] = {}


@pytest.mark.parametrize("spec, how, dtype, train", cases(dtypes=(torch.float64,), trains=(True,)))
def test_twenty_optimizer_steps_give_the_same_loss_curve(spec, how, dtype, train):
    reference = build(spec, dtype, train)
    ours, context = candidate(spec, reference, how)
    if spec.name not in _reference_curves:  # shared by the mode and convert cases
        _reference_curves[spec.name] = loss_curve(spec, reference)
    expected = _reference_curves[spec.name]
    assert expected[-1] < expected[0], "the reference did not learn: a meaningless curve"
    torch.testing.assert_close(loss_curve(spec, ours, context), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("spec", [pytest.param(spec, id=spec.name) for spec in SPECS])
def test_forward_time_ratio(spec, capsys):
    """Scratch/native forward time (float32, eval, no grad; converted model), the fastest of 15
    interleaved runs each (robust on a shared machine); printed with -s."""
    reference = build(spec, torch.float32, train=False)
    ours, _ = scratchnn.convert(reference)
    x, _ = spec.inputs(torch.float32)
    times: dict[str, list[float]] = {"native": [], "scratch": []}
    with torch.no_grad():
        reference(x), ours(x)
        for _ in range(15):
            for label, model in (("native", reference), ("scratch", ours)):
                start = time.perf_counter()
                model(x)
                times[label].append(time.perf_counter() - start)
    error = ((ours(x) - reference(x)).abs().max() / reference(x).abs().max()).item()
    assert error < 1e-4
    with capsys.disabled():
        ratio = min(times["scratch"]) / min(times["native"])
        print(f"\n{spec.name}: scratch/native forward {ratio:.1f}x, max rel error {error:.1e}")
