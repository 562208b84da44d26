"""The convolution schedules (schedules/conv.py, schedules/flat.py) against torch, one by one.

Every algorithm, forced with ``algorithm(name)``, must equal torch's convolution in values and
gradients over random valid configurations (N-d, groups, stride, dilation, padding, batching),
in float64 (tight) and float32; chunking and blocking are forced small so their seams run.
"""

from contextlib import contextmanager

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch, conv_chunks_of
from scratchnn._windows import Geometry
from scratchnn.functional.conv import algorithm, current_algorithm
from scratchnn.schedules import conv as algorithms
from scratchnn.schedules.flat import FlatLayout

OPS = {1: (F.conv1d, torch_F.conv1d), 2: (F.conv2d, torch_F.conv2d), 3: (F.conv3d, torch_F.conv3d)}
NAMED = ["shift-gemm", "unfold-gemm", "shift-mac", "space-to-batch", "einsum"]


@st.composite
def configs(draw):
    """(n, input shape, weight shape, bias?, kwargs) of a valid convolution."""
    n = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3 if n == 3 else 4)) for _ in range(n)]
    dilation = [draw(st.integers(1, 3)) for _ in range(n)]
    same = draw(st.booleans()) and draw(st.booleans())
    stride = [1] * n if same else [draw(st.integers(1, 3)) for _ in range(n)]
    padding = "same" if same else tuple(draw(st.integers(0, 2)) for _ in range(n))
    pads = [d * (k - 1) for k, d in zip(kernel, dilation)] if same else [2 * p for p in padding]
    spatial = [
        max(d * (k - 1) + 1 - p, 1) + draw(st.integers(0, 4)) for k, d, p in zip(kernel, dilation, pads)
    ]
    batch = draw(st.sampled_from([[], [1], [2], [3]]))
    kwargs = dict(stride=tuple(stride), padding=padding, dilation=tuple(dilation), groups=groups)
    return n, [*batch, c_in, *spatial], [c_out, c_in // groups, *kernel], draw(st.booleans()), kwargs


def check(name, config, dtype):
    n, input_shape, weight_shape, bias, kwargs = config
    x = torch.randn(input_shape, dtype=dtype)
    w = torch.randn(weight_shape, dtype=dtype)
    b = torch.randn(weight_shape[0], dtype=dtype) if bias else None
    ours, theirs = OPS[n]

    def forced(*args, **kw):
        with algorithm(name):
            return ours(*args, **kw)

    assert_matches_torch(forced, theirs, x, w, b, **kwargs)


@contextmanager
def small_pieces():
    """Chunks of one sample, blocks of 7 columns: every seam of the schedule runs."""
    with scratchnn.settings(conv_chunk_bytes=1, conv_block_columns=7, conv_column_bytes=1):
        yield


@settings(max_examples=30)
@given(config=configs())
def test_every_algorithm_matches_torch_float64(config):
    for name in NAMED:
        check(name, config, torch.float64)


@settings(max_examples=25)
@given(config=configs())
def test_flat_algorithms_match_torch_in_small_chunks_and_blocks(config):
    with small_pieces():
        for name in NAMED[:3]:
            check(name, config, torch.float64)


@settings(max_examples=25)
@given(config=configs())
def test_chunks_share_their_buffers(config):
    """Chunks of two samples: the next chunk reuses the first one's buffers, a smaller last
    chunk a prefix of them (or, one sample without padding or stride, the input itself)."""
    with conv_chunks_of(2):
        for name in NAMED[:3]:
            check(name, config, torch.float64)


@settings(max_examples=15)
@given(config=configs())
def test_every_algorithm_matches_torch_float32(config):
    for name in NAMED:
        check(name, config, torch.float32)


@pytest.mark.parametrize("name", NAMED[:3])
def test_gradcheck_and_double_backward(name):
    x = torch.randn(2, 2, 4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)

    def fn(x, w, b):
        with algorithm(name):
            return F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)

    assert torch.autograd.gradcheck(fn, (x, w, b))
    assert torch.autograd.gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("name", NAMED[:3])
@pytest.mark.parametrize("needs", [(True, False), (False, True)], ids=["input only", "weight only"])
def test_partial_gradients(name, needs):
    x = torch.randn(2, 3, 9, dtype=torch.float64, requires_grad=needs[0])
    w = torch.randn(5, 3, 3, dtype=torch.float64, requires_grad=needs[1])
    with algorithm(name):
        out = F.conv1d(x, w, padding=2, dilation=2)
    expected = torch_F.conv1d(x, w, padding=2, dilation=2)
    g = torch.randn_like(expected)
    leaf = x if needs[0] else w
    assert_close(torch.autograd.grad(out, leaf, g)[0], torch.autograd.grad(expected, leaf, g)[0])


@pytest.mark.parametrize("name", NAMED[:3])
def test_non_contiguous_and_channels_last_inputs(name):
    x = torch.randn(2, 6, 8, 9, dtype=torch.float64).to(memory_format=torch.channels_last)
    w = torch.randn(4, 6, 3, 3, dtype=torch.float64)
    with algorithm(name):
        assert_close(F.conv2d(x, w, padding=1), torch_F.conv2d(x, w, padding=1))
        strided = x.transpose(2, 3)[:, :, ::2]
        assert_close(F.conv2d(strided, w), torch_F.conv2d(strided, w))


@pytest.mark.parametrize("name", NAMED[:3])
def test_flat_algorithms_never_contract_the_window_view(name, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("einsum called")

    monkeypatch.setattr(torch, "einsum", forbidden)
    x = torch.randn(2, 4, 7, 7, requires_grad=True)
    w = torch.randn(4, 4, 3, 3, requires_grad=True)
    with algorithm(name):
        F.conv2d(x, w, padding=1).sum().backward()
    with algorithm("einsum"), pytest.raises(AssertionError, match="einsum called"):
        F.conv2d(x, w, padding=1)


def test_literal_form_still_contracts_the_window_view(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("flat algorithm used in the literal form")

    monkeypatch.setattr(algorithms, "flat_conv", forbidden)
    x, w = torch.randn(2, 3, 6, 6, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    with scratchnn.contraction("literal", budget=2**12), algorithm("shift-gemm"):
        out = F.conv2d(x, w, padding=1)
    assert_close(out, torch_F.conv2d(x, w, padding=1))


def test_auto_heuristic():
    def chosen(x_shape, w_shape, groups=1, dilation=(1, 1)):
        return algorithms.algorithm_for(torch.empty(x_shape), torch.empty(w_shape), groups, dilation)

    assert chosen((8, 64, 56, 56), (64, 64, 3, 3)) == "shift-gemm"
    assert chosen((8, 128, 28, 28), (128, 4, 3, 3), groups=32) == "shift-gemm"
    assert chosen((8, 128, 56, 56), (128, 1, 3, 3), groups=128) == "shift-mac"
    assert chosen((8, 3, 224, 224), (64, 3, 7, 7)) == "unfold-gemm"
    assert chosen((0, 3, 8, 8), (4, 3, 3, 3)) == "einsum"
    with algorithm("einsum"):
        assert chosen((8, 64, 56, 56), (64, 64, 3, 3)) == "einsum"
    with algorithm("space-to-batch"):  # only for dilated convolutions
        assert chosen((8, 64, 56, 56), (64, 64, 3, 3)) == "shift-gemm"
        assert chosen((8, 64, 56, 56), (64, 64, 3, 3), dilation=(2, 1)) == "space-to-batch"


def test_algorithm_context_nests_and_validates():
    assert current_algorithm() == "auto"
    with algorithm("unfold-gemm"):
        with algorithm("shift-mac"):
            assert current_algorithm() == "shift-mac"
        assert current_algorithm() == "unfold-gemm"
    assert current_algorithm() == "auto"
    with pytest.raises(ValueError, match=r"algorithm: name must be one of .*got name='winograd'"):
        with algorithm("winograd"):
            pass
    with pytest.raises(ValueError, match="flat_conv: algorithm must be one of"):
        algorithms.flat_conv(
            "einsum", torch.zeros(1, 1, 3), torch.zeros(1, 1, 1), None, Geometry.of((3,), (1,)), 1, None
        )


def test_empty_batch():
    x, w = torch.randn(0, 3, 5, 5), torch.randn(4, 3, 3, 3)
    assert F.conv2d(x, w).shape == torch_F.conv2d(x, w).shape == (0, 4, 3, 3)


@settings(max_examples=50)
@given(config=configs(), count=st.integers(1, 3))
def test_layout_copies_are_adjoint(config, count):
    """⟨fill(x), y⟩ = ⟨x, unfill(y)⟩, ⟨crop(z), v⟩ = ⟨z, uncrop(v)⟩: the backward is the exact transpose."""
    n, input_shape, weight_shape, _, kwargs = config
    if kwargs["padding"] == "same":
        return
    spatial = input_shape[-n:]
    geometry = Geometry.of(
        spatial, weight_shape[2:], kwargs["stride"], [(p, p) for p in kwargs["padding"]], kwargs["dilation"]
    )
    layout = FlatLayout(geometry, count)
    x = torch.randn(count, 2, *spatial, dtype=torch.float64)
    y = torch.randn(2, layout.phases, layout.columns, dtype=torch.float64)
    assert torch.isclose((layout.fill(x) * y).sum(), (x * layout.unfill(y, torch.empty_like(x))).sum())
    z = torch.randn(3, layout.columns, dtype=torch.float64)
    v = torch.randn(count, 3, *layout.out, dtype=torch.float64)
    assert torch.isclose((layout.crop(z) * v).sum(), (z * layout.uncrop(v)[:, layout.lead :]).sum())
    assert layout.valid <= layout.columns and layout.valid + layout.lead <= layout.columns


COMPILED = {
    "Conv2d": lambda: (
        scratchnn.nn.Conv2d(4, 6, 3, padding=1),
        torch.nn.Conv2d(4, 6, 3, padding=1),
        (2, 4, 7, 7),
    ),
    "Conv1d strided": lambda: (
        scratchnn.nn.Conv1d(8, 8, 3, stride=2),
        torch.nn.Conv1d(8, 8, 3, stride=2),
        (2, 8, 11),
    ),
    "Conv2d depthwise": lambda: (
        scratchnn.nn.Conv2d(6, 6, 3, padding=1, groups=6),
        torch.nn.Conv2d(6, 6, 3, padding=1, groups=6),
        (2, 6, 5, 5),
    ),
    "Conv2d 1x1": lambda: (scratchnn.nn.Conv2d(8, 4, 1), torch.nn.Conv2d(8, 4, 1), (2, 8, 5, 5)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMPILED))
def test_conv_modules_compile_without_graph_breaks(name):
    ours, theirs, shape = COMPILED[name]()
    ours.load_state_dict(theirs.state_dict())
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True)  # fullgraph: a graph break raises
    assert_matches_torch(compiled, theirs, torch.randn(shape))


@pytest.mark.slow
def test_linear_compiles_without_graph_breaks():
    ours, theirs = scratchnn.nn.Linear(5, 3, bias=False), torch.nn.Linear(5, 3, bias=False)
    ours.load_state_dict(theirs.state_dict())
    torch._dynamo.reset()
    assert_matches_torch(torch.compile(ours, fullgraph=True), theirs, torch.randn(4, 5))


def test_forward_mode_ad_and_torch_func_use_the_formula():
    """Dual tensors and torch.func wrappers bypass the custom Functions (which define neither a
    jvp nor a vmap rule) and differentiate the window-view formula instead."""
    import torch.autograd.forward_ad as fwAD
    from torch.func import grad, vmap

    x, w = torch.randn(2, 4, 6, 5, dtype=torch.float64), torch.randn(6, 2, 3, 3, dtype=torch.float64)
    tangents = torch.randn_like(x), torch.randn_like(w)
    results = []
    for fn in (scratchnn.functional.conv2d, torch.nn.functional.conv2d):
        with fwAD.dual_level():
            dual = [fwAD.make_dual(p, t) for p, t in zip((x, w), tangents)]
            results.append(fwAD.unpack_dual(fn(*dual, stride=2, padding=1, groups=2)).tangent)
    assert_close(*results)
    per_sample = [
        vmap(lambda s, fn=fn: fn(s, w, padding=1, groups=2))(x)
        for fn in (scratchnn.functional.conv2d, torch.nn.functional.conv2d)
    ]
    assert_close(*per_sample)
    gradients = [
        grad(lambda w, fn=fn: fn(x, w, stride=2, groups=2).pow(2).sum())(w)
        for fn in (scratchnn.functional.conv2d, torch.nn.functional.conv2d)
    ]
    assert_close(*gradients)
    assert algorithms.supports(x, w, None)
    with fwAD.dual_level():
        assert not algorithms.supports(fwAD.make_dual(x, tangents[0]), w, None)


@pytest.mark.parametrize("name", ["shift-gemm", "unfold-gemm", "shift-mac"])
@pytest.mark.parametrize("shape, order", [((2, 1, 2), (1, 2, 0)), ((7, 6, 1, 3), (2, 3, 0, 1))])
def test_an_input_stored_in_another_order_is_read_by_its_strides(name, shape, order):
    """A batch of one whose positions are not the innermost stride (a permuted view): the flat
    layout is then a view with strides, and the offset classes must step in those strides."""
    x = torch.randn(shape, dtype=torch.float64).permute(order)
    c_in, kernel = x.shape[1], [2] * (x.ndim - 2)
    groups = c_in if name == "shift-mac" else 1  # shift-mac: depthwise
    w = torch.randn(c_in if groups > 1 else 3, 1 if groups > 1 else c_in, *kernel, dtype=torch.float64)
    op, reference = (F.conv1d, torch_F.conv1d) if x.ndim == 3 else (F.conv2d, torch_F.conv2d)
    with scratchnn.settings(conv=name):
        assert_matches_torch(op, reference, x, w, groups=groups)
