"""scratchnn.convert(): module swaps both ways, state_dicts, hooks, modes, reports, fast-path guard."""

import copy
import io
import re

import pytest
import torch
import torch.nn.functional as torch_F
from torch import nn

import scratchnn
import scratchnn.functional as F
import scratchnn.nn as snn
from helpers import assert_close

f64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


def small_model():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
        nn.ReLU(),
        nn.Identity(),
        nn.Flatten(),
        nn.Linear(4 * 5 * 5, 6),
        nn.Sequential(nn.Linear(6, 6, bias=False)),
    )
    return model.to(f64)


def run(model, x, seed=0):
    """Output and parameter gradients for one fixed cotangent."""
    x = x.clone().requires_grad_()
    out = model(x)
    out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype))
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    return out.detach(), grads, x.grad


def test_converted_model_has_twins_and_the_same_state_dict():
    model = small_model()
    converted, report = scratchnn.convert(model)
    assert converted is not model
    assert type(converted[0]) is snn.Conv2d and type(converted[1]) is snn.ReLU
    assert type(converted[4]) is snn.Linear and type(converted[5][0]) is snn.Linear
    assert type(converted) is nn.Sequential and report.ok
    for (path, module), original in zip(converted.named_modules(), model.modules()):
        name = type(original).__name__
        twin = getattr(snn, name) if name in snn.__all__ else type(original)
        assert type(module) is twin, f"{path}: {type(module)} is not {twin}"
    converted_paths = [path for path, module in model.named_modules() if type(module).__name__ in snn.__all__]
    assert [row[0] for row in report.converted] == converted_paths
    ours, theirs = converted.state_dict(), model.state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        assert torch.equal(ours[key], theirs[key]) and ours[key].dtype == theirs[key].dtype
    assert type(model[0]) is nn.Conv2d, "inplace=False must leave the original alone"
    assert converted[0].weight is not model[0].weight


def test_outputs_and_gradients_equal_torch():
    model = small_model()
    converted, _ = scratchnn.convert(model)
    x = torch.randn(2, 3, 5, 5, dtype=f64)
    (out_a, grads_a, x_a), (out_b, grads_b, x_b) = run(converted, x), run(model, x)
    assert_close(out_a, out_b)
    assert_close(x_a, x_b, "input gradient")
    for name in grads_b:
        assert_close(grads_a[name], grads_b[name], f"gradient of {name}")


def test_inplace_keeps_the_objects():
    model = small_model()
    parameters = list(model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    converted, _ = scratchnn.convert(model, inplace=True)
    assert converted is model and type(model[0]) is snn.Conv2d
    assert all(a is b for a, b in zip(model.parameters(), parameters))
    converted(torch.randn(1, 3, 5, 5, dtype=f64)).sum().backward()
    before = model[4].weight.detach().clone()
    optimizer.step()  # the optimizer still holds the converted model's parameters
    assert not torch.equal(model[4].weight, before)


def test_training_flags_hooks_and_attributes_survive():
    model = small_model()
    model.train()
    model[4].eval()
    seen = []
    model[4].register_forward_hook(lambda module, args, out: seen.append(type(module).__name__))
    model[0].register_forward_pre_hook(lambda module, args: seen.append("pre"))
    model[0].custom_tag = "kept"
    converted, _ = scratchnn.convert(model)
    assert [m.training for m in converted.modules()] == [m.training for m in model.modules()]
    converted(torch.randn(1, 3, 5, 5, dtype=f64))
    assert seen == ["pre", "Linear"]
    assert converted[0].custom_tag == "kept"
    assert converted[0].extra_repr() == model[0].extra_repr()


def test_round_trip_restores_torch_classes():
    model = small_model()
    converted, _ = scratchnn.convert(model)
    back, report = scratchnn.convert(converted, to="torch")
    assert [type(m) for m in back.modules()] == [type(m) for m in model.modules()]
    assert report.to == "torch" and len(report.converted) >= 4 and report.ok
    x = torch.randn(2, 3, 5, 5, dtype=f64)
    assert_close(back(x), model(x))


def test_state_dicts_load_both_ways():
    model = small_model()
    converted, _ = scratchnn.convert(model)
    with torch.no_grad():
        for p in converted.parameters():
            p.add_(1.0)
    model.load_state_dict(converted.state_dict())
    fresh, _ = scratchnn.convert(small_model())
    fresh.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 5, 5, dtype=f64)
    assert_close(fresh(x), converted(x))
    assert_close(model(x), converted(x))


def test_converted_model_pickles():
    converted, _ = scratchnn.convert(small_model())
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded[0]) is snn.Conv2d
    x = torch.randn(1, 3, 5, 5, dtype=f64)
    assert_close(loaded(x), converted(x))
    assert type(copy.deepcopy(converted)[4]) is snn.Linear


def test_tied_parameters_stay_tied():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    model[1].weight = model[0].weight
    converted, _ = scratchnn.convert(model)
    assert converted[1].weight is converted[0].weight
    assert list(converted.state_dict()) == list(model.state_dict())


def test_shared_modules_are_converted_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    converted, report = scratchnn.convert(model)
    assert converted[0] is converted[2] and type(converted[0]) is snn.Linear
    assert [row[0] for row in report.converted] == ["0", "1"]


def test_alias_classes_convert_and_come_back():
    linear = nn.modules.linear.NonDynamicallyQuantizableLinear(3, 2)
    converted, report = scratchnn.convert(linear)
    assert type(converted) is snn.Linear and report.converted == [
        ("", "NonDynamicallyQuantizableLinear", "scratchnn.nn.Linear")
    ]
    back, _ = scratchnn.convert(converted, to="torch")
    assert type(back) is nn.modules.linear.NonDynamicallyQuantizableLinear
    assert "_scratchnn_torch_class" not in vars(back)


class Classifier(nn.Module):
    """A model that owns its losses, as training code often does."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(6, 4)
        self.criterion = nn.CrossEntropyLoss(weight=torch.rand(4), label_smoothing=0.1)
        self.auxiliary = nn.BCEWithLogitsLoss(pos_weight=torch.rand(4))

    def forward(self, x, target):
        logits = self.linear(x)
        return self.criterion(logits, target) + self.auxiliary(logits, torch.zeros_like(logits))


def test_loss_modules_are_converted_with_their_buffers():
    torch.manual_seed(0)
    model = Classifier()
    converted, report = scratchnn.convert(copy.deepcopy(model))
    assert (
        type(converted.criterion) is snn.CrossEntropyLoss
        and type(converted.auxiliary) is snn.BCEWithLogitsLoss
    )
    assert report.ok and [cls for _, cls, _ in report.converted] == [
        "Linear",
        "CrossEntropyLoss",
        "BCEWithLogitsLoss",
    ]
    assert converted.state_dict().keys() == model.state_dict().keys()
    x, target = torch.randn(5, 6), torch.tensor([0, 3, 1, 2, 3])
    with scratchnn.mode(strict=True) as m:
        loss = converted(x, target)
    assert sum(m.fallback.values()) == 0
    assert_close(loss, model(x, target))
    back, _ = scratchnn.convert(converted, to="torch")
    assert type(back.criterion) is nn.CrossEntropyLoss and back.criterion.label_smoothing == 0.1


class MyConv(nn.Conv2d):
    def forward(self, x):
        return super().forward(x) * 2


class MyBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)

    def forward(self, x):
        return self.linear(x)


def test_report_lists_what_stays_native():
    model = nn.Sequential(MyBlock(), nn.SyncBatchNorm(3), MyConv(3, 3, 1), nn.ModuleList([nn.Identity()]))
    converted, report = scratchnn.convert(model)
    assert type(converted[0].linear) is snn.Linear
    assert [(path, cls) for path, cls, _ in report.native] == [("1", "SyncBatchNorm"), ("2", "MyConv")]
    assert report.native[0][2] == "scratchnn.nn has no twin"
    assert "subclass of torch.nn.Conv2d" in report.native[1][2]
    assert not report.ok
    text = str(report)
    n = 2 if "Identity" in snn.__all__ else 1
    assert text.splitlines()[0] == f"convert to scratch: {n} module{'s' * (n > 1)} converted, 2 left native"
    assert "  1         SyncBatchNorm left native: scratchnn.nn has no twin" in text.splitlines()


def test_a_twin_whose_attributes_do_not_fit_is_put_back(monkeypatch):
    class Linear(nn.Module):
        def extra_repr(self):
            return str(self.attribute_torch_does_not_have)

    Linear.__module__ = "scratchnn.nn.fake"
    monkeypatch.setattr(snn, "Linear", Linear)
    converted, report = scratchnn.convert(nn.Linear(2, 2))
    assert type(converted) is nn.Linear
    assert report.native and "attributes do not fit scratchnn.nn.Linear" in report.native[0][2]


def test_functional_attributes_point_at_twins():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True)
    assert layer.activation is torch_F.gelu
    converted, report = scratchnn.convert(layer)
    assert converted.activation is F.gelu
    assert ("activation", "torch.nn.functional.gelu", "scratchnn.functional.gelu") in report.functions
    back, _ = scratchnn.convert(converted, to="torch")
    assert back.activation is torch_F.gelu


def test_transformer_layers_never_take_the_fused_fast_path(monkeypatch):
    torch.manual_seed(0)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2)
    encoder.eval()
    converted, report = scratchnn.convert(encoder)
    assert type(converted) is snn.TransformerEncoder
    assert type(converted.layers[0]) is snn.TransformerEncoderLayer
    assert type(converted.layers[0].self_attn) is snn.MultiheadAttention
    assert ("", "TransformerEncoder", "scratchnn.nn.TransformerEncoder") in report.converted
    assert report.ok

    def forbidden(*args, **kwargs):
        raise AssertionError("a fused native kernel ran")

    for name in (
        "_transformer_encoder_layer_fwd",
        "_native_multi_head_attention",
        "_nested_tensor_from_mask",
    ):
        monkeypatch.setattr(torch, name, forbidden)
    x, padding = torch.randn(2, 5, 8), torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    with torch.no_grad():
        out = converted(x, src_key_padding_mask=padding)
        assert torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            expected = encoder(x, src_key_padding_mask=padding)
        finally:
            torch.backends.mha.set_fastpath_enabled(True)
    # the real tokens as torch computes them; padded ones 0, as torch's nested-tensor path gives them
    assert_close(out, expected.masked_fill(padding.unsqueeze(-1), 0.0))
    back, _ = scratchnn.convert(converted, to="torch")
    assert type(back) is nn.TransformerEncoder and type(back.layers[1]) is nn.TransformerEncoderLayer


def test_transformer_padding_and_lazy_modules_are_converted():
    torch.manual_seed(0)
    model = nn.ModuleDict(
        {
            "front": nn.Sequential(nn.ReflectionPad1d(1), nn.LazyConv1d(8, 3), nn.ZeroPad1d((0, 1))),
            "transformer": nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True),
        }
    )
    converted, report = scratchnn.convert(model, inplace=True)  # in place: lazy parameters cannot be copied
    assert report.ok
    kinds = {path: new for path, _, new in report.converted}
    assert (
        kinds["front.0"] == "scratchnn.nn.ReflectionPad1d" and kinds["front.1"] == "scratchnn.nn.LazyConv1d"
    )
    assert kinds["transformer"] == "scratchnn.nn.Transformer"
    assert kinds["transformer.encoder.layers.0"] == "scratchnn.nn.TransformerEncoderLayer"
    assert kinds["transformer.decoder.layers.0.multihead_attn"] == "scratchnn.nn.MultiheadAttention"
    x = torch.randn(2, 3, 6)
    features = converted["front"](x).transpose(1, 2)  # (b, positions, 8)
    assert type(converted["front"][1]) is snn.Conv1d  # materialized as the scratch class
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    out = converted["transformer"](features, features[:, :4], tgt_mask=mask)
    back, _ = scratchnn.convert(converted, to="torch")
    assert type(back["front"][1]) is nn.Conv1d and type(back["transformer"]) is nn.Transformer
    assert_close(back["front"](x).transpose(1, 2), features)
    assert_close(back["transformer"](features, features[:, :4], tgt_mask=mask), out)


# Constructor arguments for the twins, by class name without its 1d/2d/3d suffix (default: none).
EXAMPLE_ARGS = {
    "Conv": (4, 6, 3),
    "ConvTranspose": (4, 6, 3),
    "BatchNorm": (4,),
    "InstanceNorm": (4,),
    "GroupNorm": (2, 4),
    "LayerNorm": (4,),
    "RMSNorm": (4,),
    "LocalResponseNorm": (2,),
    "Linear": (4, 6),
    "Bilinear": (4, 5, 6),
    "Embedding": (10, 4),
    "EmbeddingBag": (10, 4),
    "MultiheadAttention": (8, 2),
    "MaxPool": (2,),
    "AvgPool": (2,),
    "LPPool": (2, 2),
    "AdaptiveAvgPool": (2,),
    "AdaptiveMaxPool": (2,),
    "MaxUnpool": (2,),
    "PixelShuffle": (2,),
    "PixelUnshuffle": (2,),
    "Fold": (4, 2),
    "Unfold": (2,),
    "Unflatten": (1, (2, 2)),
    "Threshold": (0.1, 20.0),
    "Softmax": (1,),
    "LogSoftmax": (1,),
    "Softmin": (1,),
    "Softmax2d": (),
    "ChannelShuffle": (2,),
    "FractionalMaxPool": {"kernel_size": 2, "output_size": 2},
    "Upsample": {"scale_factor": 2},
    "RNNBase": ("LSTM", 3, 4, 2),
    "RNN": (3, 4, 2, "relu"),
    "LSTM": {"input_size": 3, "hidden_size": 4, "proj_size": 2, "bidirectional": True},
    "GRU": (3, 4, 2),
    "RNNCellBase": (3, 4, True, 4),
    "RNNCell": (3, 4, False, "relu"),
    "LSTMCell": (3, 4),
    "GRUCell": (3, 4),
    "UpsamplingBilinear2d": {"scale_factor": 2},
    "UpsamplingNearest2d": {"scale_factor": 2},
    "TransformerEncoderLayer": (8, 2, 16),
    "TransformerDecoderLayer": (8, 2, 16),
    "TransformerEncoder": (nn.TransformerEncoderLayer(8, 2, 16), 1),
    "TransformerDecoder": (nn.TransformerDecoderLayer(8, 2, 16), 1),
    "ConstantPad": (1, 0.5),
    "ZeroPad": (1,),
    "ReflectionPad": (1,),
    "ReplicationPad": (1,),
    "CircularPad": (1,),
    "LazyLinear": (4,),
    "LazyConv": (4, 3),
    "LazyConvTranspose": (4, 3),
    "Transformer": {"d_model": 8, "nhead": 2, "num_encoder_layers": 1, "num_decoder_layers": 1},
    "LinearCrossEntropyLoss": (4, 3),
    "AdaptiveLogSoftmaxWithLoss": (16, 10, [3, 6]),
}
TWINS = sorted(name for name in snn.__all__ if isinstance(getattr(nn, name, None), type))


@pytest.mark.parametrize("name", TWINS)
def test_every_twin_keeps_to_torchs_attributes(name):
    """What makes the class swap sound: a twin built from some arguments stores no attribute that
    the torch module built from the same arguments lacks, and has the same state_dict keys."""
    example = EXAMPLE_ARGS.get(name, EXAMPLE_ARGS.get(re.sub(r"[123]d$", "", name), ()))
    args, kwargs = ((), example) if isinstance(example, dict) else (example, {})
    torch_module, twin = getattr(nn, name)(*args, **kwargs), getattr(snn, name)(*args, **kwargs)
    assert set(vars(twin)) <= set(vars(torch_module)), (
        f"only the twin has {set(vars(twin)) - set(vars(torch_module))}"
    )
    assert list(twin.state_dict()) == list(torch_module.state_dict())
    # in place for the lazy modules: torch cannot deep-copy uninitialized parameters
    converted, report = scratchnn.convert(torch_module, inplace=name.startswith("Lazy"))
    assert type(converted) is getattr(snn, name)
    assert report.native == [] and report.ok
    assert converted.extra_repr() == torch_module.extra_repr()


class Recurrent(nn.Module):
    """A bidirectional LSTM with projections, a cell on its last step, a GRU over a packed batch and
    an RNN over the packed data."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
        self.cell = nn.GRUCell(4, 5)
        self.gru = nn.GRU(3, 4)
        self.rnn = nn.RNN(4, 3, nonlinearity="relu")

    def forward(self, x):
        out, (h, _) = self.lstm(x)  # b t 4
        hidden = self.cell(out[:, -1])
        lengths = torch.tensor([x.shape[1] - k % x.shape[1] for k in range(x.shape[0])])
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        packed_out, h_gru = self.gru(packed)
        out_rnn, _ = self.rnn(packed_out.data.unsqueeze(1))
        return hidden.sum() + h.sum() + h_gru.sum() + out_rnn.sum()


def test_recurrent_modules_convert_and_match_torch():
    torch.manual_seed(0)
    model = Recurrent().to(f64)
    converted, report = scratchnn.convert(model)
    assert report.ok
    assert [type(m) for m in converted.children()] == [snn.LSTM, snn.GRUCell, snn.GRU, snn.RNN]
    assert converted.lstm._flat_weights[0] is converted.lstm.weight_ih_l0
    x = torch.randn(3, 5, 3, dtype=f64)
    (ours, ours_grads, ours_x), (theirs, theirs_grads, theirs_x) = run(converted, x), run(model, x)
    assert_close(ours, theirs)
    assert_close(ours_x, theirs_x, "input gradient")
    for name in theirs_grads:
        assert_close(ours_grads[name], theirs_grads[name], name)
    with scratchnn.mode(strict=True) as m:  # the converted model calls no native layer op
        converted(x)
    assert not m.routed and not m.fallback
    back, _ = scratchnn.convert(converted, to="torch")
    assert type(back.lstm) is nn.LSTM and type(back.cell) is nn.GRUCell
    assert_close(back(x).detach(), theirs)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"convert: to must be one of \('scratch', 'torch'\), got to='jax'"):
        scratchnn.convert(nn.Linear(2, 2), to="jax")
    with pytest.raises(TypeError, match=r"convert: model must be a torch\.nn\.Module, got function"):
        scratchnn.convert(lambda x: x)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_torch_compile_runs_a_converted_model(backend):
    """Dynamo traces the scratch layers (with graph breaks at the contraction form's ContextVar)."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(36, 5),
    )
    converted, report = scratchnn.convert(model)
    assert report.ok
    compiled = torch.compile(converted, backend=backend)
    reference = copy.deepcopy(model)
    x = torch.randn(2, 3, 6, 6)
    out, expected = compiled(x), reference(x)
    assert_close(out, expected, rtol=1e-5, atol=1e-5)
    out.sum().backward()
    expected.sum().backward()
    for (name, p), q in zip(converted.named_parameters(), reference.parameters()):
        assert_close(p.grad, q.grad, f"gradient of {name}", rtol=1e-5, atol=1e-5)


def test_the_remaining_twins_convert_and_compute_like_torch():
    model = nn.Sequential(
        nn.Threshold(0.1, -1.0),
        nn.Hardshrink(0.3),
        nn.Softshrink(0.2),
        nn.RReLU(),
        nn.ChannelShuffle(2),
        nn.Softmax2d(),
        nn.Softmin(1),
    ).eval()
    converted, report = scratchnn.convert(model)
    assert report.ok and len(report.converted) == 7
    assert [type(m) for m in converted] == [
        snn.Threshold,
        snn.Hardshrink,
        snn.Softshrink,
        snn.RReLU,
        snn.ChannelShuffle,
        snn.Softmax2d,
        snn.Softmin,
    ]
    x = torch.randn(2, 4, 3, 3, dtype=f64)
    assert_close(converted(x), model(x))
    pool = nn.FractionalMaxPool2d(2, output_size=3, _random_samples=torch.rand(2, 4, 2, dtype=f64))
    converted_pool, _ = scratchnn.convert(pool)
    assert type(converted_pool) is snn.FractionalMaxPool2d
    assert_close(converted_pool(x.repeat(1, 1, 2, 2)), pool(x.repeat(1, 1, 2, 2)))
    for name in ("CosineSimilarity", "PairwiseDistance"):
        module, _ = scratchnn.convert(getattr(nn, name)())
        assert type(module) is getattr(snn, name)
