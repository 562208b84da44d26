"""Transformer modules against torch's Python path: every constructor option, masks (bool and float,
key padding merged with attn masks, causal hints and their detection), unbatched input, gradients,
initialization under a seed, state_dicts both ways, reprs, warnings and errors."""

import itertools
import pickle
import warnings
from contextlib import contextmanager

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import scratchnn.functional as F
import scratchnn.nn as snn
from helpers import assert_close, assert_matches_torch

E, H, FF = 8, 2, 12  # d_model, nhead, dim_feedforward
S, T, B = 5, 4, 3  # source length, target length, batch


@contextmanager
def torch_python_path():
    """torch's fused fast path off, so its modules run the Python path that scratchnn mirrors."""
    saved = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(saved)


def twins(name, *args, seed=0, **kwargs):
    """torch's module and ours, built under the same seed (so with the same parameters), in eval mode."""
    modules = []
    for namespace in (nn, snn):
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            modules.append(getattr(namespace, name)(*args, **kwargs).eval())
    return modules


def sequence(length, batch_first=False, batched=True, dtype=torch.float64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    shape = ((B, length) if batch_first else (length, B)) if batched else (length,)
    return torch.randn(*shape, E, dtype=dtype, generator=generator)


def masks(kind, length, batched=True, seed=2):
    """attn mask and key padding mask for self-attention over ``length`` positions (True = may NOT attend)."""
    generator = torch.Generator().manual_seed(seed)
    padding = torch.rand(B if batched else 1, length, generator=generator) < 0.3
    padding[:, 0] = False  # every query keeps one key
    padding = padding if batched else padding[0]
    attn = torch.rand(length, length, generator=generator) < 0.3
    attn.fill_diagonal_(False)
    causal = nn.Transformer.generate_square_subsequent_mask(length, dtype=torch.float64)
    float_padding = torch.zeros(padding.shape, dtype=torch.float64).masked_fill(padding, float("-inf"))
    float_attn = torch.zeros(length, length, dtype=torch.float64).masked_fill(attn, float("-inf"))
    return {
        "none": ({}, False),
        "bool attn": ({"mask": attn}, False),
        "float attn": (
            {"mask": torch.zeros(length, length, dtype=torch.float64).masked_fill(attn, -1e9)},
            False,
        ),
        "padding": ({"padding": padding}, False),
        "padding + attn": ({"padding": padding, "mask": attn}, False),
        "float padding + float attn": ({"padding": float_padding, "mask": float_attn}, False),
        "causal": ({"mask": causal}, True),
        "causal + padding": ({"mask": causal, "padding": padding}, True),
    }[kind]


LAYER_OPTIONS = list(
    itertools.product([False, True], [False, True], ["relu", "gelu", torch.tanh], [True, False])
)


@pytest.mark.parametrize("norm_first, batch_first, activation, bias", LAYER_OPTIONS)
def test_encoder_layer_matches_torch(norm_first, batch_first, activation, bias):
    theirs, ours = twins(
        "TransformerEncoderLayer", E, H, FF, dropout=0.0, activation=activation, batch_first=batch_first,
        norm_first=norm_first, bias=bias, dtype=torch.float64,
    )  # fmt: skip
    kwargs, _ = masks("padding + attn", S)
    padding, mask = kwargs["padding"], kwargs["mask"]
    with torch_python_path():
        assert_matches_torch(
            lambda x: ours(x, src_mask=mask, src_key_padding_mask=padding),
            lambda x: theirs(x, src_mask=mask, src_key_padding_mask=padding),
            sequence(S, batch_first),
        )


@pytest.mark.parametrize(
    "kind",
    ["none", "bool attn", "float attn", "padding", "padding + attn", "float padding + float attn", "causal",
     "causal + padding"],
)  # fmt: skip
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.filterwarnings("ignore:Support for mismatched")  # the causal float mask with bool padding
def test_encoder_masks_match_torch(kind, batched):
    theirs, ours = (
        encoder
        for encoder in twins(
            "TransformerEncoder",
            nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=True, dtype=torch.float64),
            2,
            norm=nn.LayerNorm(E, dtype=torch.float64),
        )
    )
    kwargs, is_causal = masks(kind, S, batched)
    call = {"mask": kwargs.get("mask"), "src_key_padding_mask": kwargs.get("padding")}
    if is_causal:
        call["is_causal"] = True
    x = sequence(S, batch_first=True, batched=batched)
    with torch_python_path():
        assert_matches_torch(lambda x: ours(x, **call), lambda x: theirs(x, **call), x)


def test_encoder_detects_a_causal_mask_as_torch(monkeypatch):
    """is_causal=None with the square subsequent mask: both pass is_causal=True to every layer."""
    layer = snn.TransformerEncoderLayer(E, H, FF, dropout=0.0)
    encoder = snn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    seen = []
    for child in encoder.layers:
        original = child.forward
        monkeypatch.setattr(
            child, "forward", lambda *a, _f=original, **k: seen.append(k["is_causal"]) or _f(*a, **k)
        )
    causal = snn.Transformer.generate_square_subsequent_mask(S)
    encoder(torch.randn(S, B, E), mask=causal)
    encoder(torch.randn(S, B, E), mask=causal.clone().fill_(0.0))
    encoder(torch.randn(S, B, E), mask=causal, is_causal=False)
    assert seen == [True, True, False, False, False, False]


@pytest.mark.parametrize("norm_first, batch_first", list(itertools.product([False, True], [False, True])))
@pytest.mark.parametrize("kind", ["none", "padding + attn", "causal + padding", "float padding + float attn"])
@pytest.mark.filterwarnings("ignore:Support for mismatched")
def test_decoder_matches_torch(norm_first, batch_first, kind):
    layer = nn.TransformerDecoderLayer(
        E, H, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first, dtype=torch.float64
    )
    theirs, ours = twins("TransformerDecoder", layer, 2, norm=nn.LayerNorm(E, dtype=torch.float64))
    kwargs, is_causal = masks(kind, T)
    memory_kwargs, _ = masks("padding + attn" if kind != "none" else "none", S, seed=3)
    memory_mask = memory_kwargs.get("mask")
    call = {
        "tgt_mask": kwargs.get("mask"),
        "tgt_key_padding_mask": kwargs.get("padding"),
        "memory_mask": None if memory_mask is None else memory_mask[:T].to(kwargs["mask"].dtype),
        "memory_key_padding_mask": memory_kwargs.get("padding"),
    }
    if memory_kwargs.get("padding") is not None and kwargs.get("padding") is not None:
        call["memory_key_padding_mask"] = memory_kwargs["padding"].to(kwargs["padding"].dtype)
    if is_causal:
        call["tgt_is_causal"] = True
    with torch_python_path():
        assert_matches_torch(
            lambda tgt, memory: ours(tgt, memory, **call),
            lambda tgt, memory: theirs(tgt, memory, **call),
            sequence(T, batch_first),
            sequence(S, batch_first, seed=4),
        )


@pytest.mark.parametrize("batch_first, norm_first", [(False, False), (True, True)])
def test_transformer_matches_torch_from_the_same_seed(batch_first, norm_first):
    theirs, ours = twins(
        "Transformer", E, H, 2, 1, FF, dropout=0.0, activation="gelu", batch_first=batch_first,
        norm_first=norm_first, dtype=torch.float64,
    )  # fmt: skip
    for (key, a), (key_theirs, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert key == key_theirs
        assert_close(a, b, key, rtol=0, atol=0)
    tgt_mask = snn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    padding = torch.tensor([[False] * S] + [[False] * (S - 2) + [True] * 2] * (B - 1))
    call = {"tgt_mask": tgt_mask, "src_key_padding_mask": padding, "memory_key_padding_mask": padding}
    with torch_python_path():
        assert_matches_torch(
            lambda src, tgt: ours(src, tgt, **call),
            lambda src, tgt: theirs(src, tgt, **call),
            sequence(S, batch_first),
            sequence(T, batch_first, seed=5),
        )


def test_parameter_gradients_match_torch():
    theirs, ours = twins("Transformer", E, H, 1, 1, FF, dropout=0.0, dtype=torch.float64)
    theirs.train(), ours.train()
    src, tgt = sequence(S), sequence(T, seed=5)
    mask = snn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    for module in (theirs, ours):
        module(src, tgt, tgt_mask=mask, tgt_is_causal=True).square().sum().backward()
    for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert a.grad is not None and b.grad is not None, name
        assert_close(a.grad, b.grad, f"gradient of {name}")


def test_float32_matches_torch():
    theirs, ours = twins("TransformerEncoderLayer", E, H, FF, dropout=0.0, norm_first=True)
    kwargs, _ = masks("padding + attn", S)
    with torch_python_path():
        assert_matches_torch(
            lambda x: ours(x, kwargs["mask"], kwargs["padding"]),
            lambda x: theirs(x, kwargs["mask"], kwargs["padding"]),
            sequence(S, dtype=torch.float32),
        )


def test_gradcheck_on_a_tiny_decoder_layer():
    torch.manual_seed(0)
    layer = snn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, dtype=torch.float64)
    tgt = torch.randn(3, 1, 4, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(2, 1, 4, dtype=torch.float64, requires_grad=True)
    mask = snn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t, m: layer(t, m, tgt_mask=mask), (tgt, memory))


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("norm", [False, True], ids=["no norm", "norm"])
def test_eval_without_grad_matches_torchs_fast_paths(norm):
    """Where torch takes its nested-tensor encoder (eval, no grad, left-aligned padding), padded
    positions are 0 before the norm; ours zero them too. With padding that is not left-aligned torch
    runs its fused layer, whose values agree with ours."""
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, batch_first=True, dtype=torch.float64)
    theirs, ours = twins(
        "TransformerEncoder", layer, 2, norm=nn.LayerNorm(E, dtype=torch.float64) if norm else None
    )
    x = sequence(S, batch_first=True)
    left_aligned = torch.tensor([[False] * S] + [[False] * 3 + [True] * 2] * (B - 1))
    scattered = torch.tensor([[False] * S] + [[True] + [False] * (S - 1)] * (B - 1))
    with torch.no_grad():
        for padding in (left_aligned, scattered):
            assert_close(ours(x, src_key_padding_mask=padding), theirs(x, src_key_padding_mask=padding))
    expected = theirs(x, src_key_padding_mask=left_aligned)  # with gradients: the Python path, no zeros
    assert_close(ours(x, src_key_padding_mask=left_aligned), expected)
    if not norm:
        assert expected[1, -1].abs().sum() > 0


def test_activation_callables_and_strings():
    assert snn.TransformerEncoderLayer(E, H).activation is F.relu
    assert snn.TransformerEncoderLayer(E, H, activation="gelu").activation is F.gelu
    assert snn.TransformerDecoderLayer(E, H, activation="gelu").activation is F.gelu
    assert snn.TransformerEncoderLayer(E, H, activation=torch_F.gelu).activation is F.gelu  # the scratch twin
    assert snn.TransformerDecoderLayer(E, H, activation=torch.tanh).activation is torch.tanh
    for activation, flag in [("relu", 1), ("gelu", 2), (torch_F.gelu, 2), (nn.ReLU(), 1), (torch.tanh, 0)]:
        ours, theirs = (
            snn.TransformerEncoderLayer(E, H, activation=activation),
            nn.TransformerEncoderLayer(E, H, activation=activation),
        )
        assert ours.activation_relu_or_gelu == theirs.activation_relu_or_gelu == flag
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        snn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not swish"):
        snn.Transformer(E, H, activation="swish")


@pytest.mark.parametrize(
    "name, args",
    [
        ("TransformerEncoderLayer", (E, H, FF)),
        ("TransformerDecoderLayer", (E, H, FF)),
        ("Transformer", (E, H, 1, 2, FF)),
    ],
)
def test_state_dicts_load_both_ways_and_reprs_match(name, args):
    theirs, ours = twins(name, *args, seed=0)
    _, other = twins(name, *args, seed=1)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    other.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    for key, value in other.state_dict().items():
        assert torch.equal(value, theirs.state_dict()[key])
    # torch's out_proj is a NonDynamicallyQuantizableLinear, which is a Linear
    assert repr(ours) == repr(theirs).replace("NonDynamicallyQuantizableLinear", "Linear")


def test_encoder_keeps_torchs_flags_and_warning():
    layer = nn.TransformerEncoderLayer(E, H, FF)  # batch_first=False rules the nested tensors out
    with pytest.warns(
        UserWarning, match=r"enable_nested_tensor is True, but self\.use_nested_tensor is False"
    ) as ours:
        encoder = snn.TransformerEncoder(layer, 2)
    with pytest.warns(UserWarning) as theirs:
        reference = nn.TransformerEncoder(layer, 2)
    assert str(ours[0].message) == str(theirs[0].message)
    for attribute in ("num_layers", "enable_nested_tensor", "use_nested_tensor", "mask_check"):
        assert getattr(encoder, attribute) == getattr(reference, attribute), attribute
    for options, why in [
        ({"norm_first": True}, "norm_first was True"),
        ({"bias": False}, "self_attn was passed bias=False"),
        ({"activation": torch.tanh}, "activation_relu_or_gelu was not True"),
    ]:
        layer = snn.TransformerEncoderLayer(E, H, FF, batch_first=True, **options)
        with pytest.warns(UserWarning, match=why):
            snn.TransformerEncoder(layer, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        snn.TransformerEncoder(snn.TransformerEncoderLayer(E, H, FF, batch_first=True), 1)
        assert not snn.TransformerEncoder(layer, 1, enable_nested_tensor=False, mask_check=False).mask_check


def test_square_subsequent_mask():
    for size in (0, 1, 4):
        assert torch.equal(
            snn.Transformer.generate_square_subsequent_mask(size, dtype=torch.float64),
            nn.Transformer.generate_square_subsequent_mask(size, dtype=torch.float64),
        )


def test_pickle_round_trip_and_old_checkpoints():
    layer = snn.TransformerEncoderLayer(E, H, FF)
    state = layer.__dict__.copy()
    del state["activation"]
    restored = snn.TransformerEncoderLayer.__new__(snn.TransformerEncoderLayer)
    restored.__setstate__(state)
    assert restored.activation is F.relu
    decoder = pickle.loads(pickle.dumps(snn.TransformerDecoderLayer(E, H, FF, activation="gelu")))
    assert decoder.activation is F.gelu


def test_errors():
    model = snn.Transformer(E, H, 1, 1, FF, batch_first=True)
    with pytest.raises(
        RuntimeError,
        match=r"Transformer: the batch number of src and tgt must be equal, got src \(2, 5, 8\) and tgt \(3",
    ):
        model(torch.randn(2, 5, E), torch.randn(3, 4, E))
    with pytest.raises(
        RuntimeError,
        match=r"Transformer: the feature number of src and tgt must be equal to d_model=8, got src \(2, 5",
    ):
        model(torch.randn(2, 5, 6), torch.randn(2, 4, E))
    encoder = snn.TransformerEncoder(snn.TransformerEncoderLayer(E, H, FF), 1, enable_nested_tensor=False)
    with pytest.raises(
        AssertionError, match="TransformerEncoder: only bool and floating types of mask are supported"
    ):
        encoder(torch.randn(S, B, E), mask=torch.zeros(S, S, dtype=torch.long))
    with pytest.raises(
        AssertionError, match="TransformerEncoderLayer: only bool and floating types of src_key_padding_mask"
    ):
        encoder.layers[0](torch.randn(S, B, E), src_key_padding_mask=torch.zeros(B, S, dtype=torch.long))
    with pytest.raises(AssertionError):  # torch raises the same type for an int mask
        nn.TransformerEncoderLayer(E, H, FF)(
            torch.randn(S, B, E), src_key_padding_mask=torch.zeros(B, S, dtype=torch.long)
        )
    with pytest.warns(
        UserWarning, match="Support for mismatched src_key_padding_mask and mask is deprecated"
    ):
        encoder(
            torch.randn(S, B, E),
            mask=torch.zeros(S, S),
            src_key_padding_mask=torch.zeros(B, S, dtype=torch.bool),
        )


@settings(max_examples=15, deadline=None)
@given(
    d_model=st.sampled_from([4, 6, 8]),
    nhead=st.sampled_from([1, 2, 3, 4]),
    norm_first=st.booleans(),
    batch_first=st.booleans(),
    layers=st.integers(1, 2),
    length=st.integers(1, 4),
    padded=st.booleans(),
)
def test_random_configurations_match_torch(d_model, nhead, norm_first, batch_first, layers, length, padded):
    """Valid configurations agree with torch; invalid ones (nhead not dividing d_model) fail as torch's."""
    options = {"dropout": 0.0, "norm_first": norm_first, "batch_first": batch_first, "dtype": torch.float64}
    errors = []
    for namespace in (nn, snn):
        try:
            namespace.TransformerEncoderLayer(d_model, nhead, 6, **options)
        except Exception as error:  # the type is what is compared
            errors.append(type(error))
    if errors:
        assert len(errors) == 2 and errors[0] is errors[1]
        return
    layer = nn.TransformerEncoderLayer(d_model, nhead, 6, **options)
    theirs, ours = twins("TransformerEncoder", layer, layers, enable_nested_tensor=False)
    x = torch.randn((B, length, d_model) if batch_first else (length, B, d_model), dtype=torch.float64)
    padding = None
    if padded:
        padding = torch.zeros(B, length, dtype=torch.bool)
        padding[1:, length // 2 + 1 :] = True
    with torch_python_path():
        assert_matches_torch(
            lambda x: ours(x, src_key_padding_mask=padding),
            lambda x: theirs(x, src_key_padding_mask=padding),
            x,
        )


def test_a_functional_activation_survives_pickling_copying_and_torch_save():
    import copy
    import io

    layer = snn.TransformerEncoderLayer(E, H, FF, activation=F.silu)
    assert pickle.loads(pickle.dumps(layer)).activation is F.silu
    assert copy.deepcopy(layer).activation is F.silu
    assert layer.activation is F.silu  # pickling leaves the layer itself as it was
    buffer = io.BytesIO()
    torch.save(snn.Transformer(E, H, 1, 1, FF), buffer)
    buffer.seek(0)
    model = torch.load(buffer, weights_only=False)
    assert model.encoder.layers[0].activation is F.relu and model.decoder.layers[0].activation is F.relu
