"""Semiring convolutions against independent references, in value and gradient (float64):

* a brute-force Python loop over every output and tap (tiny inputs);
* the literal unfold form, written here with torch only (``F.pad`` + ``Tensor.unfold`` + one
  reduction over the whole window — autograd's gradient, ties included, is the reference);
* identities: plus-times = ``conv{1,2,3}d``; max-plus with a zero flat element = ``max_pool`` with
  stride 1 and same padding; min-plus(x, w) = −max-plus(−x, −w).

Max/min semirings are fed integer-valued inputs so that ties are everywhere. Small memory budgets
force the chunked loops to split every axis.
"""

import itertools
import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch, in_both_forms
from scratchnn.functional import Semiring, get_semiring
from scratchnn.schedules import flat_filter as flat_filter_module

OPS = {1: F.semiring_conv1d, 2: F.semiring_conv2d, 3: F.semiring_conv3d}
TORCH_CONV = {1: torch_F.conv1d, 2: torch_F.conv2d, 3: torch_F.conv3d}
TORCH_MAX_POOL = {1: torch_F.max_pool1d, 2: torch_F.max_pool2d, 3: torch_F.max_pool3d}

MAX_MIN = Semiring("max-min", torch.minimum, "max")  # fuzzy morphology: autograd of combine, ties
SOFT_TIMES = Semiring("soft-times", torch.mul, "logsumexp", padding_value=0.0, temperature=0.5)

# Each semiring written out again, independently: (x ⊗ w, reduction over the window, padding value).
DEFINITIONS = {
    "plus-times": (lambda x, w: x * w, lambda v, d: v.sum(d), 0.0),
    "max-plus": (lambda x, w: x + w, lambda v, d: v.amax(d), -math.inf),
    "min-plus": (lambda x, w: x + w, lambda v, d: v.amin(d), math.inf),
    "logsumexp-plus": (lambda x, w: x + w, lambda v, d: torch.logsumexp(v, d), -math.inf),
    "logsumexp-plus T=0.3": (lambda x, w: x + w, lambda v, d: 0.3 * torch.logsumexp(v / 0.3, d), -math.inf),
    "l1": (lambda x, w: -(x - w).abs(), lambda v, d: v.sum(d), 0.0),
    "lp p=2": (lambda x, w: -((x - w) ** 2), lambda v, d: v.sum(d), 0.0),
    "lp p=3": (lambda x, w: -((x - w).abs() ** 3), lambda v, d: v.sum(d), 0.0),
    "max-min": (torch.minimum, lambda v, d: v.amax(d), -math.inf),
    "soft-times": (lambda x, w: x * w, lambda v, d: 0.5 * torch.logsumexp(v / 0.5, d), 0.0),
}
SEMIRINGS = {
    "plus-times": "plus-times",
    "max-plus": "max-plus",
    "min-plus": "min-plus",
    "logsumexp-plus": "logsumexp-plus",
    "logsumexp-plus T=0.3": get_semiring("logsumexp-plus", temperature=0.3),
    "l1": "l1",
    "lp p=2": get_semiring("lp", p=2),
    "lp p=3": get_semiring("lp", p=3),
    "max-min": MAX_MIN,
    "soft-times": SOFT_TIMES,
}
TIES = {"max-plus", "min-plus", "l1", "max-min"}  # fed integer values: ties and |0| kinks everywhere


def padding_pairs(padding, kernel, dilation, n):
    if padding == "same":
        return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
    if padding == "valid":
        return [(0, 0)] * n
    amounts = (padding,) * n if isinstance(padding, int) else padding
    return [(p, p) for p in amounts]


def literal(name):
    """The literal unfold form of semiring ``name``, from torch primitives only."""
    combine, reduce, pad_value = DEFINITIONS[name]

    def op(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, padding_value=None):
        n = w.ndim - 2
        unbatched = x.ndim == n + 1
        x = x.unsqueeze(0) if unbatched else x
        stride = (stride,) * n if isinstance(stride, int) else tuple(stride)
        dilation = (dilation,) * n if isinstance(dilation, int) else tuple(dilation)
        pairs = padding_pairs(padding, w.shape[2:], dilation, n)
        flat = [amount for pair in reversed(pairs) for amount in pair]
        value = pad_value if padding_value is None else padding_value
        x = torch_F.pad(x, flat, value=value)
        for i, (k, s, d) in enumerate(zip(w.shape[2:], stride, dilation)):
            x = x.unfold(2 + i, d * (k - 1) + 1, s)
        windows = x[(..., *(slice(None, None, d) for d in dilation))]  # b (g c_in) *out *kernel
        windows = windows.unflatten(1, (groups, -1)).unsqueeze(2)  # b g 1 c_in *out *kernel
        weight = w.unflatten(0, (groups, -1))[(None, ..., *[None] * n)]  # 1 g c_out c_in *kernel -> …
        weight = weight.movedim(
            list(range(4, 4 + n)), list(range(4 + n, 4 + 2 * n))
        )  # 1 g c_out c_in 1… *kernel
        out = reduce(combine(windows, weight), (3, *range(4 + n, 4 + 2 * n))).flatten(1, 2)
        out = out if b is None else out + b.view(-1, *[1] * n)
        return out.squeeze(0) if unbatched else out

    return op


def brute_force(name, x, w, stride, padding, dilation, groups):
    """One Python loop per output element and tap (2-D, batched)."""
    combine, reduce, pad_value = DEFINITIONS[name]
    pairs = padding_pairs(padding, w.shape[2:], (dilation, dilation), 2)
    x = torch_F.pad(x, [pairs[1][0], pairs[1][1], pairs[0][0], pairs[0][1]], value=pad_value)
    c_out, c_in, kh, kw = w.shape
    height = (x.shape[2] - dilation * (kh - 1) - 1) // stride + 1
    width = (x.shape[3] - dilation * (kw - 1) - 1) // stride + 1
    outputs = []
    for b, o, i, j in itertools.product(range(x.shape[0]), range(c_out), range(height), range(width)):
        g = o // (c_out // groups)
        taps = [
            combine(x[b, g * c_in + c, i * stride + p * dilation, j * stride + q * dilation], w[o, c, p, q])
            for c, p, q in itertools.product(range(c_in), range(kh), range(kw))
        ]
        outputs.append(reduce(torch.stack(taps), 0))
    return torch.stack(outputs).view(x.shape[0], c_out, height, width)


def ours(n):
    return OPS[n]


def call(n, semiring):
    def op(*args, **kwargs):
        return OPS[n](*args, **kwargs, semiring=SEMIRINGS[semiring])

    return op


def tensors(name, shapes, generator, dtype=torch.float64):
    if name in TIES:
        return [torch.randint(-2, 3, shape, generator=generator).to(dtype) for shape in shapes]
    return [torch.randn(shape, generator=generator, dtype=dtype) for shape in shapes]


@st.composite
def configs(draw, n):
    """A valid semiring convolution: the dilated kernel fits the padded input, channels divide."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(n)]
    dilation = [draw(st.integers(1, 2)) for _ in range(n)]
    padding_kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    stride = [1] * n if padding_kind == "same" else [draw(st.integers(1, 3)) for _ in range(n)]
    if padding_kind == "same":
        padding = "same"
    elif padding_kind == "valid":
        padding = "valid"
    elif padding_kind == "int":
        padding = draw(st.integers(0, 2))
    else:
        padding = tuple(draw(st.integers(0, 2)) for _ in range(n))
    pads = [sum(pair) for pair in padding_pairs(padding, kernel, dilation, n)]
    spatial = [
        max(d * (k - 1) + 1 - p, 1) + draw(st.integers(0, 3)) for k, d, p in zip(kernel, dilation, pads)
    ]
    batch = draw(st.sampled_from([None, 1, 2]))
    kwargs = dict(
        stride=tuple(stride) if len(set(stride)) > 1 else stride[0],
        padding=padding,
        dilation=tuple(dilation) if len(set(dilation)) > 1 else dilation[0],
        groups=groups,
    )
    shapes = (([] if batch is None else [batch]) + [c_in, *spatial], [c_out, c_in // groups, *kernel])
    return shapes, draw(st.booleans()), kwargs


# ---------------------------------------------------------------------------------------------
# Every semiring against the literal unfold form, over valid configurations, chunked or not.


@pytest.mark.parametrize("n", [1, 2, 3])
@given(data=st.data())
def test_every_semiring_matches_the_literal_form(n, data):
    name = data.draw(st.sampled_from(sorted(DEFINITIONS)), label="semiring")
    (input_shape, weight_shape), bias, kwargs = data.draw(configs(n), label="config")
    budget = data.draw(st.sampled_from([512, 2**28]), label="budget")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    generator = torch.Generator().manual_seed(seed)
    x, w = tensors(name, [input_shape, weight_shape], generator)
    b = torch.randn(weight_shape[0], generator=generator, dtype=torch.float64) if bias else None
    with scratchnn.contraction(budget=budget):
        assert_matches_torch(call(n, name), literal(name), x, w, b, **kwargs)


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_float32_matches_the_literal_form(name):
    generator = torch.Generator().manual_seed(0)
    x, w = tensors(name, [(2, 4, 9, 8), (6, 2, 3, 2)], generator, torch.float32)
    with scratchnn.contraction(budget=2048):
        assert_matches_torch(call(2, name), literal(name), x, w, None, stride=(1, 2), padding=1, groups=2)


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
@pytest.mark.parametrize(
    "stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, "same", 2, 1), (3, 2, 2, 2)]
)
def test_brute_force_loops(name, stride, padding, dilation, groups):
    generator = torch.Generator().manual_seed(1)
    x, w = tensors(name, [(2, 2, 5, 6), (4, 2 // groups, 2, 3)], generator)

    def reference(x, w):
        return brute_force(name, x, w, stride, padding, dilation, groups)

    def mine(x, w):
        return call(2, name)(x, w, None, stride, padding, dilation, groups)

    with scratchnn.contraction(budget=256):
        assert_matches_torch(mine, reference, x, w)


def test_padding_value_overrides_the_identity():
    generator = torch.Generator().manual_seed(2)
    x, w = tensors("max-plus", [(1, 2, 5, 5), (3, 2, 3, 3)], generator)
    for value in (0.0, -1.5, 7.0):
        assert_matches_torch(
            lambda x, w, value: F.semiring_conv2d(x, w, padding=2, semiring="max-plus", padding_value=value),
            lambda x, w, value: literal("max-plus")(x, w, padding=2, padding_value=value),
            x,
            w,
            value,
        )


# ---------------------------------------------------------------------------------------------
# Identities


# The identities repeat what the literal-form property covers, against other references: a
# quarter of the profile's examples each (torch's float64 conv is slow on odd configurations).
IDENTITY_EXAMPLES = max(10, settings().max_examples // 4)


@pytest.mark.parametrize("n", [1, 2, 3])
@settings(max_examples=IDENTITY_EXAMPLES)
@given(data=st.data())
def test_plus_times_is_conv(n, data):
    (input_shape, weight_shape), bias, kwargs = data.draw(configs(n))
    generator = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16)))
    x, w = tensors("plus-times", [input_shape, weight_shape], generator)
    b = torch.randn(weight_shape[0], generator=generator, dtype=torch.float64) if bias else None
    with scratchnn.contraction(budget=data.draw(st.sampled_from([4096, 2**28]))):
        assert_matches_torch(call(n, "plus-times"), TORCH_CONV[n], x, w, b, **kwargs)


def test_plus_times_literal_form_equals_fast_form():
    x, w = torch.randn(2, 4, 7, 7, dtype=torch.float64), torch.randn(6, 2, 3, 3, dtype=torch.float64)
    fast, literal_form = in_both_forms(
        lambda: F.semiring_conv2d(x, w, padding=1, groups=2, semiring="plus-times")
    )
    assert_close(literal_form, fast)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kernel", [1, 3, 5])
@pytest.mark.parametrize("weight_grad", [False, True], ids=["flat path", "chunked path"])
def test_max_plus_with_a_zero_flat_element_is_max_pool(n, kernel, weight_grad):
    """Random continuous data: no ties, where max_pool (one arg-max) and we (ties split) agree."""
    channels = 3
    x = torch.randn(2, channels, *[7, 6, 5][:n], dtype=torch.float64)
    w = torch.zeros(channels, 1, *[kernel] * n, dtype=torch.float64)

    def mine(x, w):
        return OPS[n](x, w, padding=kernel // 2, groups=channels, semiring="max-plus")

    x_leaf, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = mine(x_leaf, w.requires_grad_(weight_grad))
    expected = TORCH_MAX_POOL[n](x_ref, kernel, stride=1, padding=kernel // 2)
    assert_close(out, expected)
    cotangent = torch.randn_like(out)
    out.backward(cotangent)
    expected.backward(cotangent)
    assert_close(x_leaf.grad, x_ref.grad)


@pytest.mark.parametrize("n", [1, 2, 3])
@settings(max_examples=IDENTITY_EXAMPLES)
@given(data=st.data())
def test_min_plus_is_minus_max_plus_of_negated_arguments(n, data):
    (input_shape, weight_shape), _, kwargs = data.draw(configs(n))
    generator = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16)))
    x, w = tensors("min-plus", [input_shape, weight_shape], generator)
    op = OPS[n]
    assert_matches_torch(
        lambda x, w: op(x, w, **kwargs, semiring="min-plus"),
        lambda x, w: -op(-x, -w, **kwargs, semiring="max-plus"),
        x,
        w,
    )


def test_l1_is_lp_with_p_1_and_logsumexp_tends_to_max_plus():
    x, w = torch.randn(2, 3, 6, 6, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    assert_matches_torch(
        lambda x, w: F.semiring_conv2d(x, w, semiring="l1"),
        lambda x, w: F.semiring_conv2d(x, w, semiring=get_semiring("lp", p=1)),
        x,
        w,
    )
    cold = get_semiring("logsumexp-plus", temperature=1e-4)
    soft = F.semiring_conv2d(x, w, padding=1, semiring=cold)
    hard = F.semiring_conv2d(x, w, padding=1, semiring="max-plus")
    assert (soft - hard).abs().max() < 27 * 1e-4 * math.log(27)


# ---------------------------------------------------------------------------------------------
# The flat separable path


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", ["max-plus", "min-plus"])
@pytest.mark.parametrize(
    "kernel, stride, padding, dilation",
    [(3, 1, "same", 1), (4, 2, 2, 2), ((5, 2, 3), (1, 3, 2), (0, 1, 2), (2, 1, 1)), (7, 1, 3, 1)],
)
@pytest.mark.parametrize("small_window", [8, 1], ids=["window views", "doubling"])
def test_flat_path_equals_the_literal_form_with_ties(
    n, name, kernel, stride, padding, dilation, small_window, monkeypatch
):
    taken = []
    apply = flat_filter_module._FlatFilter.apply
    monkeypatch.setattr(flat_filter_module._FlatFilter, "apply", lambda *a: taken.append(1) or apply(*a))

    def cut(value):
        return value[:n] if isinstance(value, tuple) else value

    kernel, stride, padding, dilation = cut(kernel), cut(stride), cut(padding), cut(dilation)
    sizes = (kernel,) * n if isinstance(kernel, int) else kernel
    x = torch.randint(0, 3, (2, 4, *[11, 10, 9][:n])).double()  # three values: ties everywhere
    w = torch.tensor([0.0, 0.5, -1.0, 2.0], dtype=torch.float64).view(4, 1, *[1] * n).expand(4, 1, *sizes)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=4)
    x_mine, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    with scratchnn.settings(semiring_small_window=small_window):
        out = OPS[n](x_mine, w, **kwargs, semiring=name)
        expected = literal(name)(x_ref, w, **kwargs)
        assert taken, "the flat path was not taken"
        assert_close(out, expected)
        cotangent = torch.randn_like(out)
        out.backward(cotangent)
        expected.backward(cotangent)
    assert_close(x_mine.grad, x_ref.grad)


def test_flat_path_is_skipped_when_the_weight_needs_a_gradient(monkeypatch):
    monkeypatch.setattr(flat_filter_module._FlatFilter, "apply", None)  # would fail if called
    w = torch.zeros(2, 1, 3, 3, requires_grad=True)
    F.semiring_conv2d(torch.randn(1, 2, 5, 5), w, padding=1, groups=2, semiring="max-plus").sum().backward()
    assert w.grad.shape == w.shape
    with torch.no_grad():
        monkeypatch.undo()
        F.semiring_conv2d(torch.randn(1, 2, 5, 5), w, padding=1, groups=2, semiring="max-plus")


# ---------------------------------------------------------------------------------------------
# Gradients: gradcheck on the smooth ones, AdderNet's modified gradient


@pytest.mark.parametrize(
    "name", ["plus-times", "logsumexp-plus T=0.3", "lp p=2", "lp p=3", "l1", "soft-times"]
)
def test_gradcheck(name):
    generator = torch.Generator().manual_seed(3)
    shapes = [(2, 4, 4, 3), (4, 2, 2, 3), (4,)]
    x, w, b = (torch.randn(s, generator=generator, dtype=torch.float64).requires_grad_() for s in shapes)
    with scratchnn.contraction(budget=512):
        assert torch.autograd.gradcheck(
            lambda x, w, b: F.semiring_conv2d(
                x, w, b, stride=(2, 1), padding=1, groups=2, semiring=SEMIRINGS[name]
            ),
            (x, w, b),
            fast_mode=True,
        )


def test_adder_gradient():
    """The paper's gradient: ∂out/∂w = x − w, ∂out/∂x = HardTanh(w − x), summed over the windows."""
    generator = torch.Generator().manual_seed(4)
    x, w = (torch.randn(s, generator=generator, dtype=torch.float64) for s in [(2, 3, 6, 5), (4, 3, 3, 3)])
    x_leaf, w_leaf = x.clone().requires_grad_(), w.clone().requires_grad_()
    out = F.semiring_conv2d(x_leaf, w_leaf, padding=1, semiring=get_semiring("l1", gradient="adder"))
    assert_close(out, literal("l1")(x, w, padding=1))  # the value is the exact one
    cotangent = torch.randn(out.shape, generator=generator, dtype=torch.float64)
    out.backward(cotangent)
    windows = torch_F.unfold(x, 3, padding=1)  # b (c_in kh kw) (h w)
    difference = windows[:, None] - w.flatten(1)[None, :, :, None]  # b c_out (c_in kh kw) (h w)
    g = cotangent.flatten(2)[:, :, None, :]  # b c_out 1 (h w)
    assert_close(w_leaf.grad, (g * difference).sum((0, 3)).view_as(w))
    grad_windows = (g * (-difference).clamp(-1, 1)).sum(1)  # b (c_in kh kw) (h w)
    assert_close(x_leaf.grad, torch_F.fold(grad_windows, (6, 5), 3, padding=1))


def test_double_backward_is_refused():
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    out = F.semiring_conv2d(x, w, semiring="l1")
    cotangent = torch.randn_like(out, requires_grad=True)
    (grad,) = torch.autograd.grad(out, x, cotangent, create_graph=True)
    with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
        grad.sum().backward()


# ---------------------------------------------------------------------------------------------
# Bounded memory


def test_blocks_stay_under_the_budget_forward_and_backward():
    """A semiring that records the size of every block it combines: never more than the budget
    (and never the whole product), in the forward and in the recomputing backward."""
    seen = []

    def combine(x, w):
        value = x + w
        seen.append(value.numel() * value.element_size())
        return value

    ring = Semiring("spy", combine, "max")
    x = torch.randn(3, 4, 16, 16, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, 4, 5, 5, dtype=torch.float64, requires_grad=True)
    product = 3 * 6 * 4 * 16 * 16 * 25 * 8
    budget = 16 * 2**10
    with scratchnn.contraction(budget=budget):
        out = F.semiring_conv2d(x, w, padding=2, semiring=ring)
        forward_blocks = len(seen)
        out.sum().backward()
    assert max(seen) <= budget < product
    assert len(seen) > 2 * forward_blocks  # the backward recomputed every block (count, then route)
    expected = literal("max-plus")(x.detach(), w.detach(), padding=2)
    assert_close(out.detach(), expected)


def test_chunk_size_is_also_capped_for_cache():
    chosen = scratchnn.current_settings()
    assert chosen.semiring_block_bytes <= chosen.budget


# ---------------------------------------------------------------------------------------------
# Modules


def test_semiring_conv2d_plus_times_loads_conv2d_state_dicts_both_ways():
    ours = scratchnn.nn.SemiringConv2d(
        4, 6, 3, padding=1, groups=2, semiring="plus-times", dtype=torch.float64
    )
    theirs = torch.nn.Conv2d(4, 6, 3, padding=1, groups=2, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 4, 7, 7, dtype=torch.float64)
    assert_close(ours(x), theirs(x))
    theirs.load_state_dict(ours.state_dict())
    assert repr(ours) == repr(theirs).replace("Conv2d(", "SemiringConv2d(")[:-1] + ", semiring='plus-times')"


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "circular"])
def test_semiring_conv2d_module_is_its_functional(padding_mode):
    layer = scratchnn.nn.SemiringConv2d(
        2, 3, (3, 2), padding=1, padding_mode=padding_mode, semiring="max-plus", dtype=torch.float64
    )
    x = torch.randn(2, 2, 6, 6, dtype=torch.float64)
    padded = x if padding_mode == "zeros" else torch_F.pad(x, (1, 1, 1, 1), mode=padding_mode)
    expected = literal("max-plus")(
        padded, layer.weight, layer.bias, padding=1 if padding_mode == "zeros" else 0
    )
    assert_close(layer(x), expected)


def test_adder_conv2d():
    layer = scratchnn.nn.AdderConv2d(3, 5, 3, padding=1, dtype=torch.float64)
    assert layer.bias is None and set(layer.state_dict()) == {"weight"}
    assert abs(layer.weight.std().item() - 1) < 0.35  # N(0, 1), as AdderNet's code
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    assert_close(layer(x), literal("l1")(x, layer.weight, padding=1))
    assert repr(layer) == "AdderConv2d(3, 5, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"
    modified = scratchnn.nn.AdderConv2d(3, 5, 3, gradient="adder")
    assert repr(modified).endswith("bias=False, gradient='adder')")
    with pytest.raises(ValueError, match="gradient must be 'exact' or 'adder'"):
        scratchnn.nn.AdderConv2d(3, 5, 3, gradient="sign")


# ---------------------------------------------------------------------------------------------
# Explain, edge cases, errors


def test_explain_records_one_step_with_the_literal_cost():
    from scratchnn._trace import recording

    x, w = torch.randn(2, 3, 10, 10), torch.randn(4, 3, 5, 5)
    with recording() as steps:
        F.semiring_conv2d(x, w, padding=2, semiring="l1")
    assert [step.kind for step in steps] == ["schedule"]
    assert steps[0].literal_bytes == 2 * 4 * 3 * 10 * 10 * 5 * 5 * 4
    assert steps[0].bindings["kh"] == 5


def test_empty_batch_and_unbatched():
    w = torch.randn(4, 3, 3, 3)
    assert F.semiring_conv2d(torch.randn(0, 3, 5, 5), w, semiring="max-plus").shape == (0, 4, 3, 3)
    x = torch.randn(3, 5, 5)
    assert_close(F.semiring_conv2d(x, w, semiring="l1"), F.semiring_conv2d(x[None], w, semiring="l1")[0])


def test_errors():
    x, w = torch.randn(1, 3, 5, 5), torch.randn(4, 3, 3, 3)
    with pytest.raises(ValueError, match="unknown semiring 'max-times'; built-in: plus-times"):
        F.semiring_conv2d(x, w, semiring="max-times")
    with pytest.raises(TypeError, match="semiring must be a name or a Semiring, got semiring=3"):
        F.semiring_conv2d(x, w, semiring=3)
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'semiring'"):
        F.semiring_conv2d(x, w)
    with pytest.raises(RuntimeError, match="semiring_conv2d: input has 5 channels but weight expects 3"):
        F.semiring_conv2d(torch.randn(1, 5, 5, 5), w, semiring="l1")
    with pytest.raises(
        RuntimeError, match=r"semiring_conv1d: input must be 2-D or 3-D \(unbatched or batched\)"
    ):
        F.semiring_conv1d(x, w, semiring="l1")
    with pytest.raises(
        RuntimeError, match=r"semiring_conv2d: not implemented for torch\.int64 input \(floating point only\)"
    ):
        F.semiring_conv2d(x.long(), w.long(), semiring="max-plus")
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.semiring_conv2d(x, w, stride=2, padding="same", semiring="max-plus")
    with pytest.raises(TypeError, match="padding_value must be a number or None, got padding_value='zero'"):
        F.semiring_conv2d(x, w, semiring="max-plus", padding_value="zero")
    with pytest.raises(ValueError, match=r"semiring 'lp': p must be a number >= 1, got p=0\.5"):
        get_semiring("lp", p=0.5)
    with pytest.raises(TypeError, match=r"semiring 'max-plus' takes no options \['p'\]"):
        get_semiring("max-plus", p=2)
    with pytest.raises(TypeError, match=r"options \['p'\] apply to built-in names only"):
        get_semiring(MAX_MIN, p=2)
    with pytest.raises(
        ValueError, match=r"reduce must be one of \('sum', 'max', 'min', 'logsumexp'\), got reduce='mean'"
    ):
        Semiring("bad", torch.add, "mean")
    with pytest.raises(ValueError, match="temperature must be a positive number, got temperature=0"):
        Semiring("bad", torch.add, "logsumexp", temperature=0)
    with pytest.raises(TypeError, match="combine must be callable, got combine=1"):
        Semiring("bad", 1)
    with pytest.raises(ValueError, match="unknown semiring 'maxplus'"):
        scratchnn.nn.SemiringConv2d(3, 4, 3, semiring="maxplus")
