"""mv, addmm, addmv, baddbmm, addbmm and einsum against torch: beta/alpha (beta = 0 ignores NaN
in input), broadcasting input, both contraction forms, gradients, errors, einsum's equation syntax
(ellipsis, implied outputs, diagonals, sublists, chains) and routing under scratchnn.mode()."""

import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch, in_both_forms

NAN = float("nan")

ADD_CASES = [
    # op, input shape, operand shapes, beta, alpha
    ("addmm", (2, 4), [(2, 3), (3, 4)], 1, 1),
    ("addmm", (4,), [(2, 3), (3, 4)], 0.5, -2.0),
    ("addmm", (2, 1), [(2, 3), (3, 4)], 2, 0.25),
    ("addmm", (), [(2, 3), (3, 4)], 1, 3),
    ("addmv", (2,), [(2, 3), (3,)], 1, 1),
    ("addmv", (1,), [(2, 3), (3,)], -1.5, 0.5),
    ("baddbmm", (5, 2, 4), [(5, 2, 3), (5, 3, 4)], 1, 1),
    ("baddbmm", (2, 4), [(5, 2, 3), (5, 3, 4)], 0.5, 2),
    ("baddbmm", (5, 1, 4), [(5, 2, 3), (5, 3, 4)], 3, -1),
    ("addbmm", (2, 4), [(5, 2, 3), (5, 3, 4)], 1, 1),
    ("addbmm", (4,), [(5, 2, 3), (5, 3, 4)], -1, 0.5),
]


@pytest.mark.parametrize("op, input_shape, shapes, beta, alpha", ADD_CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_add_products_match_torch(op, input_shape, shapes, beta, alpha, dtype):
    tensors = [torch.randn(input_shape, dtype=dtype), *(torch.randn(s, dtype=dtype) for s in shapes)]
    assert_matches_torch(getattr(F, op), getattr(torch, op), *tensors, beta=beta, alpha=alpha)


@pytest.mark.parametrize("op, input_shape, shapes, beta, alpha", ADD_CASES[::3])
def test_add_products_in_the_literal_form(op, input_shape, shapes, beta, alpha):
    tensors = [
        torch.randn(input_shape, dtype=torch.float64),
        *(torch.randn(s, dtype=torch.float64) for s in shapes),
    ]
    fast, literal = in_both_forms(lambda: getattr(F, op)(*tensors, beta=beta, alpha=alpha))
    assert_close(literal, fast)
    assert_close(fast, getattr(torch, op)(*tensors, beta=beta, alpha=alpha))


@pytest.mark.parametrize("op, input_shape, shapes", [(op, i, s) for op, i, s, _, _ in ADD_CASES[::3]])
def test_beta_zero_ignores_nan_and_inf_in_input(op, input_shape, shapes):
    tensors = [torch.full(input_shape, NAN), *(torch.randn(s) for s in shapes)]
    tensors[0].view(-1)[0] = float("inf")
    ours, theirs = getattr(F, op)(*tensors, beta=0), getattr(torch, op)(*tensors, beta=0)
    assert not ours.isnan().any()
    assert_close(ours, theirs)
    # the input's gradient is zero, as torch's
    x = tensors[0].clone().requires_grad_()
    getattr(F, op)(x, *tensors[1:], beta=0).sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize("op", ["addmm", "addmv", "addbmm", "baddbmm"])
def test_alpha_zero_as_torchs_kernels(op):
    """addmm, addmv and addbmm skip the product when alpha = 0 (NaN in it does not show); baddbmm does not."""
    input_shape, shapes = {
        "addmm": ((2, 4), [(2, 3), (3, 4)]),
        "addmv": ((2,), [(2, 3), (3,)]),
        "addbmm": ((2, 4), [(5, 2, 3), (5, 3, 4)]),
        "baddbmm": ((5, 2, 4), [(5, 2, 3), (5, 3, 4)]),
    }[op]
    tensors = [torch.randn(input_shape), torch.full(shapes[0], NAN), torch.randn(shapes[1])]
    assert_close(getattr(F, op)(*tensors, alpha=0), getattr(torch, op)(*tensors, alpha=0))


def test_integer_operands_match_torch():
    a, b, c = torch.arange(4).view(2, 2), torch.arange(6).view(2, 3), torch.arange(6).view(3, 2)
    assert torch.equal(F.addmm(a, b, c, beta=2, alpha=3), torch.addmm(a, b, c, beta=2, alpha=3))
    assert torch.equal(F.mv(b, torch.arange(3)), torch.mv(b, torch.arange(3)))
    # torch reads beta and alpha as ints for integer tensors: 0.5 → 0 (input dropped), 1.5 → 1
    for beta, alpha in [(0.5, 1), (1, 1.5), (2.7, -1.2)]:
        assert torch.equal(
            F.addmm(a, b, c, beta=beta, alpha=alpha), torch.addmm(a, b, c, beta=beta, alpha=alpha)
        )


def test_mv_matches_torch():
    for dtype in (torch.float64, torch.float32):
        assert_matches_torch(F.mv, torch.mv, torch.randn(4, 3, dtype=dtype), torch.randn(3, dtype=dtype))


def test_gradcheck():
    def tiny(*shape):
        return torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    assert torch.autograd.gradcheck(
        lambda i, a, b: F.addmm(i, a, b, beta=0.5, alpha=2), (tiny(3), tiny(2, 2), tiny(2, 3))
    )
    assert torch.autograd.gradcheck(
        lambda i, a, b: F.baddbmm(i, a, b, alpha=-1), (tiny(2, 3), tiny(2, 2, 2), tiny(2, 2, 3))
    )
    assert torch.autograd.gradcheck(
        lambda i, a, b: F.addbmm(i, a, b), (tiny(2, 3), tiny(2, 2, 2), tiny(2, 2, 3))
    )
    assert torch.autograd.gradcheck(
        lambda a, b, c: F.einsum("ij,jk,k->i", a, b, c), (tiny(2, 3), tiny(3, 2), tiny(2))
    )
    assert torch.autograd.gradcheck(lambda a: F.einsum("iij->j", a), (tiny(2, 2, 3),))


ERRORS = [
    (
        lambda m: m.addmm(torch.ones(3, 2), torch.ones(2, 3), torch.ones(3, 2)),
        r"addmm: input of shape \(3, 2\) does not broadcast to the product's \(2, 2\)",
    ),
    (
        lambda m: m.addmm(torch.ones(2), torch.ones(3), torch.ones(3, 2)),
        r"addmm: mat1 must be 2-D, got a 1-D tensor",
    ),
    (
        lambda m: m.addmm(torch.ones(2), torch.ones(2, 4), torch.ones(3, 2)),
        r"addmm: shapes cannot be multiplied: n=4 on the left but n=3 on the right",
    ),
    (
        lambda m: m.addmm(torch.ones(2, dtype=torch.float64), torch.ones(2, 3), torch.ones(3, 2)),
        r"addmm: expected the same dtype for input, mat1, mat2",
    ),
    (lambda m: m.mv(torch.ones(2, 4), torch.ones(3)), r"mv: size mismatch: n=4 in input but n=3 in vec"),
    (lambda m: m.mv(torch.ones(2, 4), torch.ones(4, 1)), r"mv: vec must be 1-D, got a 2-D tensor"),
    (
        lambda m: m.addmv(torch.ones(3), torch.ones(2, 4), torch.ones(4)),
        r"addmv: input of shape \(3,\) does not broadcast",
    ),
    (
        lambda m: m.baddbmm(torch.ones(2, 2), torch.ones(5, 2, 3), torch.ones(4, 3, 2)),
        r"baddbmm: batch sizes differ: 5 and 4",
    ),
    (
        lambda m: m.baddbmm(torch.ones(2, 2), torch.ones(2, 3), torch.ones(4, 3, 2)),
        r"baddbmm: batch1 must be 3-D, got a 2-D tensor",
    ),
    (
        lambda m: m.addbmm(torch.ones(2, 2), torch.ones(5, 2, 3), torch.ones(5, 2, 2)),
        r"addbmm: shapes cannot be multiplied",
    ),
]


@pytest.mark.parametrize("call, message", ERRORS)
def test_errors_have_torchs_types_and_name_the_op(call, message):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=message):
        call(F)


# --- einsum --------------------------------------------------------------------------------------

EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("i,i", [(3,), (3,)]),
    ("bA,ab->Aa", [(2, 3), (4, 2)]),
    ("ba", [(2, 3)]),
    ("Ba", [(2, 3)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (7, 3, 4)]),
    ("ij,j->i", [(2, 3), (1,)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
    ("iij->j", [(3, 3, 2)]),
    ("bij,bjk,bkl->bil", [(2, 3, 4), (2, 4, 5), (2, 5, 6)]),
    ("ij,kl->ijkl", [(2, 3), (4, 5)]),
    ("ij->", [(2, 3)]),
    ("...->...", [(2, 3)]),
    ("i...->...", [(2, 3, 4)]),
    ("...ij->ij", [(4, 2, 3)]),
    ("ijk,kji->", [(2, 3, 4), (4, 3, 2)]),
    ("a,b,c,a->bc", [(2,), (3,), (4,), (2,)]),
    ("ii,ij->j", [(3, 3), (3, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("iji->ij", [(2, 3, 2)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("i,->i", [(3,), ()]),
    ("->", [()]),
]


@pytest.mark.parametrize("equation, shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_einsum_matches_torch(equation, shapes, dtype):
    operands = [torch.randn(s, dtype=dtype) for s in shapes]
    assert_matches_torch(
        lambda *xs: F.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs), *operands
    )


@pytest.mark.parametrize("equation, shapes", EQUATIONS[::4], ids=[e for e, _ in EQUATIONS[::4]])
def test_einsum_in_the_literal_form(equation, shapes):
    operands = [torch.randn(s, dtype=torch.float64) for s in shapes]
    fast, literal = in_both_forms(lambda: F.einsum(equation, *operands))
    assert_close(literal, fast)


def test_einsum_operand_list_and_sublist_forms():
    a, b = torch.randn(2, 3, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    assert_close(F.einsum("ij,jk", [a, b]), torch.einsum("ij,jk", [a, b]))
    assert_close(F.einsum(a, [0, 1], b, [1, 2], [0, 2]), torch.einsum(a, [0, 1], b, [1, 2], [0, 2]))
    assert_close(F.einsum(a, [0, 1], b, [1, 2]), torch.einsum(a, [0, 1], b, [1, 2]))
    c = torch.randn(3, dtype=torch.float64)
    assert_close(F.einsum(a, [0, ...], c, [...]), torch.einsum(a, [0, ...], c, [...]))
    assert_close(F.einsum(a, [0, 51]), torch.einsum(a, [0, 51]))


def test_einsum_integer_operands():
    a, b = torch.arange(6).view(2, 3), torch.arange(12).view(3, 4)
    ours = F.einsum("ij,jk->ik", a, b)
    assert ours.dtype == torch.int64 and torch.equal(ours, torch.einsum("ij,jk->ik", a, b))


EINSUM_ERRORS = [
    ("ij,jk", [(2, 3)], RuntimeError, r"einsum: 'ij,jk' has 2 operand terms but 1 operand were given"),
    (
        "ij",
        [(2, 3, 4)],
        RuntimeError,
        r"einsum: the term 'ij' of 'ij' has 2 subscripts but its operand has 3 dims",
    ),
    (
        "ij,jk",
        [(2, 3), (4, 5)],
        RuntimeError,
        r"einsum: subscript j has size 4 for one operand which does not broadcast with the size 3",
    ),
    ("i1", [(2, 3)], RuntimeError, r"einsum: invalid subscript in 'i1'"),
    ("i.j", [(2, 3)], RuntimeError, r"einsum: invalid subscript in 'i\.j'"),
    ("ij->ii", [(2, 3)], RuntimeError, r"einsum: an output subscript appears more than once"),
    ("ij->k", [(2, 3)], RuntimeError, r"einsum: output subscript k does not appear in an operand"),
    ("ii", [(2, 3)], RuntimeError, r"einsum: subscript i is repeated in one operand with sizes 2 and 3"),
    ("...i...", [(2, 3)], RuntimeError, r"einsum: more than one ellipsis"),
    ("ijk...", [(2, 3)], RuntimeError, r"einsum: the term 'ijk\.\.\.' of 'ijk\.\.\.' needs at least 3 dims"),
]


@pytest.mark.parametrize(
    "equation, shapes, error, message", EINSUM_ERRORS, ids=[e for e, *_ in EINSUM_ERRORS]
)
def test_einsum_errors_have_torchs_types(equation, shapes, error, message):
    operands = [torch.randn(s) for s in shapes]
    with pytest.raises(error):
        torch.einsum(equation, *operands)
    with pytest.raises(error, match=message):
        F.einsum(equation, *operands)


def test_einsum_operands_of_different_dtypes():
    a, b = torch.randn(2, 3), torch.randn(3, 4, dtype=torch.float64)
    with pytest.raises(RuntimeError):
        torch.einsum("ij,jk", a, b)
    with pytest.raises(RuntimeError, match=r"einsum: expected the same dtype for operands summed over"):
        F.einsum("ij,jk", a, b)


@pytest.mark.parametrize(
    "equation, shapes, dtypes",
    [
        ("i,j->ij", [(3,), (4,)], [torch.float64, torch.int64]),  # an outer product promotes
        ("i,j->", [(3,), (4,)], [torch.float64, torch.int64]),  # each summed alone, then multiplied
        ("i,i->i", [(3,), (3,)], [torch.bool, torch.int64]),
        ("ij,jk->ik", [(2, 1), (1, 3)], [torch.float32, torch.int64]),  # a size-1 shared letter
        ("i,j,j->i", [(3,), (4,), (4,)], [torch.int64, torch.float32, torch.float32]),
        ("i,i->", [(0,), (0,)], [torch.float64, torch.int64]),  # empty: the second operand's dtype
        ("ij,jk->ik", [(2, 0), (0, 3)], [torch.float32, torch.int64]),
    ],
)
def test_einsum_of_mixed_dtypes_follows_torch(equation, shapes, dtypes):
    operands = [torch.ones(shape).to(dtype) for shape, dtype in zip(shapes, dtypes)]
    ours, theirs = F.einsum(equation, *operands), torch.einsum(equation, *operands)
    assert ours.dtype == theirs.dtype
    assert torch.equal(ours, theirs)


def test_einsum_of_mixed_dtypes_with_a_summed_letter_raises():
    operands = torch.ones(3, dtype=torch.float64), torch.ones(4), torch.ones(4, dtype=torch.int32)
    with pytest.raises(RuntimeError):
        torch.einsum("i,j,j->i", *operands)
    with pytest.raises(RuntimeError, match=r"^einsum: .* product so far is torch.float64 and operand 2"):
        F.einsum("i,j,j->i", *operands)


def test_einsum_without_operands():
    with pytest.raises(ValueError, match="einsum: must provide at least one operand"):
        F.einsum("ij")
    with pytest.raises(ValueError):
        torch.einsum("ij")


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    operands=st.integers(1, 3),
)
def test_random_equations(data, operands):
    """Random equations over a few letters (repeats, broadcast size-1 dims, implied or explicit
    outputs): the same values as torch, or the same exception type."""
    letters = "abcdAB"
    sizes = {letter: data.draw(st.integers(1, 3)) for letter in letters}
    terms, tensors = [], []
    for _ in range(operands):
        term = "".join(data.draw(st.lists(st.sampled_from(letters), max_size=3)))
        ellipsis = data.draw(st.booleans())
        shape = [sizes[c] for c in term]
        if shape and data.draw(st.booleans()):  # a size-1 dim that broadcasts (or breaks a diagonal)
            shape[data.draw(st.integers(0, len(shape) - 1))] = 1
        if ellipsis:
            term = "..." + term
            shape = [2][: data.draw(st.integers(0, 1))] + shape
        terms.append(term)
        tensors.append(torch.randn(shape, dtype=torch.float64))
    equation = ",".join(terms)
    if data.draw(st.booleans()):
        seen = sorted(set("".join(terms).replace(".", "")))
        output = "".join(data.draw(st.permutations(seen))[: data.draw(st.integers(0, len(seen)))])
        equation += (
            "->" + ("..." if any("..." in t for t in terms) and data.draw(st.booleans()) else "") + output
        )
    try:
        expected = torch.einsum(equation, *tensors)
    except (RuntimeError, ValueError) as error:
        with pytest.raises(type(error)):
            F.einsum(equation, *tensors)
        return
    assert_close(F.einsum(equation, *tensors), expected)


@settings(max_examples=30, deadline=None)
@given(
    op=st.sampled_from(["addmm", "addmv", "baddbmm", "addbmm"]),
    m=st.integers(1, 3),
    n=st.integers(1, 3),
    p=st.integers(1, 3),
    b=st.integers(1, 3),
    mismatch=st.booleans(),
    beta=st.sampled_from([0, 1, 0.5, -2]),
    alpha=st.sampled_from([0, 1, 1.5]),
    input_rank=st.integers(0, 3),
)
def test_random_add_configurations(op, m, n, p, b, mismatch, beta, alpha, input_rank):
    """Valid shapes agree with torch; a mismatched inner size or an input that does not broadcast
    raises the same exception type."""
    inner = n + 1 if mismatch else n
    shapes = {
        "addmm": ((m, p), [(m, n), (inner, p)]),
        "addmv": ((m,), [(m, n), (inner,)]),
        "baddbmm": ((b, m, p), [(b, m, n), (b, inner, p)]),
        "addbmm": ((m, p), [(b, m, n), (b, inner, p)]),
    }[op]
    out_shape = shapes[0]
    if input_rank <= len(out_shape):  # a suffix of the output shape, maybe with a size-1 dim
        input_shape = list(out_shape[len(out_shape) - input_rank :])
        if input_shape and mismatch:
            input_shape[0] = 1
    else:  # more dims than the output: does not broadcast
        input_shape = [2, *out_shape]
    tensors = [
        torch.randn(input_shape, dtype=torch.float64),
        *(torch.randn(s, dtype=torch.float64) for s in shapes[1]),
    ]
    try:
        expected = getattr(torch, op)(*tensors, beta=beta, alpha=alpha)
    except (RuntimeError, IndexError) as error:  # torch's addmv: IndexError for a 0-d input
        with pytest.raises(type(error)):
            getattr(F, op)(*tensors, beta=beta, alpha=alpha)
        return
    assert_close(getattr(F, op)(*tensors, beta=beta, alpha=alpha), expected)


# --- routing -------------------------------------------------------------------------------------


def test_user_calls_are_routed_and_scratch_calls_pass_through():
    x = torch.randn(3, 3)
    with scratchnn.mode(strict=True) as m:
        torch.einsum("ij,jk", x, x)
        torch.einsum("ii", [x])
        torch.addmm(x, x, x, beta=0.5)
        x.addmm(x, x)
        x.clone().addmm_(x, x)
        torch.mv(x, x[0])
        x.mv(x[0])
        torch.addmv(x[0], x, x[1])
        torch.baddbmm(x, x[None], x[None])
        x[None].baddbmm(x[None], x[None])
        torch.addbmm(x, x[None], x[None])
        scratchnn.functional.mm(x, x)  # a scratch op: its contraction calls torch.einsum
    assert dict(m.routed) == {"einsum": 2, "addmm": 3, "mv": 2, "addmv": 1, "baddbmm": 2, "addbmm": 1}
    assert m.passed["torch.einsum"] == 1  # that einsum passed through


def test_unroutable_arguments_fall_back():
    with scratchnn.mode() as m:
        out = torch.addmm(torch.randn(2), torch.randn(2, 3), torch.randn(3, 2), out=torch.empty(2, 2))
    assert out.shape == (2, 2) and m.fallback["torch.addmm"] == 1
    assert "takes no argument out" in m.reasons["torch.addmm"]


# --- grouped_mm ----------------------------------------------------------------------------------

GROUPED = [  # mat_a, mat_b, offsets (None: both 3-D); rows of 16 bytes, as torch's kernel asks for bf16
    ((10, 8), (3, 8, 8), [2, 6, 10]),
    ((10, 8), (3, 8, 8), [0, 6, 10]),  # an empty group
    ((3, 8, 8), (8, 16), [8, 8, 16]),
    ((8, 16), (16, 8), [8, 16, 16]),
    ((8, 16), (16, 8), [0, 16]),
    ((3, 8, 8), (3, 8, 8), None),
]


def grouped_args(shape_a, shape_b, ends, dtype=torch.float32):
    offs = None if ends is None else torch.tensor(ends, dtype=torch.int32)
    return torch.randn(shape_a, dtype=dtype), torch.randn(shape_b, dtype=dtype), offs


@pytest.mark.parametrize("shape_a, shape_b, ends", GROUPED)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["f32", "bf16"])
def test_grouped_mm_matches_torch(shape_a, shape_b, ends, dtype):
    a, b, offs = grouped_args(shape_a, shape_b, ends, dtype)
    for grouped_mm in (torch._grouped_mm, torch.nn.functional.grouped_mm):
        assert_matches_torch(
            lambda a, b: F.grouped_mm(a, b, offs=offs), lambda a, b, mm=grouped_mm: mm(a, b, offs=offs), a, b
        )


def test_grouped_mm_rows_past_the_last_offset_are_ignored():
    """Rows of a 2-D mat_a past offs[-1] take part in no group: ours are 0 (torch leaves them unwritten)."""
    a, b, offs = grouped_args((10, 8), (3, 8, 4), [2, 6, 9])
    ours, theirs = F.grouped_mm(a, b, offs=offs), torch._grouped_mm(a, b, offs=offs)
    assert_close(ours[:9], theirs[:9])
    assert torch.equal(ours[9:], torch.zeros(1, 4))
    for g, (start, end) in enumerate([(0, 2), (2, 6), (6, 9)]):
        assert_close(ours[start:end], a[start:end] @ b[g])


def test_grouped_mm_in_the_literal_form():
    a, b, offs = grouped_args((3, 4, 8), (8, 12), [4, 4, 12])
    fast, literal = in_both_forms(lambda: F.grouped_mm(a, b, offs=offs))
    assert_close(literal, fast)


GROUPED_ERRORS = [
    (
        lambda g: g(torch.randn(10), torch.randn(3, 8, 8), offs=torch.tensor([2, 6, 9], dtype=torch.int32)),
        r"grouped_mm: mat_a has to be 2 or 3d, got 1-D",
    ),
    (
        lambda g: g(
            torch.randn(10, 8), torch.randn(3, 4, 8), offs=torch.tensor([2, 6, 9], dtype=torch.int32)
        ),
        r"grouped_mm: contraction dimension of mat_a and mat_b must match: 8 and 4",
    ),
    (
        lambda g: g(torch.randn(10, 8), torch.randn(3, 8, 8)),
        r"grouped_mm: offs must be given when an operand is 2-D",
    ),
    (
        lambda g: g(
            torch.randn(3, 4, 8), torch.randn(3, 8, 8), offs=torch.tensor([1, 2, 3], dtype=torch.int32)
        ),
        r"grouped_mm: offs must be given when an operand is 2-D, and only then",
    ),
    (lambda g: g(torch.randn(2, 4, 8), torch.randn(3, 8, 8)), r"grouped_mm: batched dimension has to match"),
    (
        lambda g: g(torch.randn(10, 8), torch.randn(3, 8, 8), offs=torch.tensor([2, 6, 9])),
        r"grouped_mm: offs has to be int32, got torch.int64",
    ),
    (
        lambda g: g(
            torch.randn(10, 8), torch.randn(3, 8, 8), offs=torch.tensor([[2, 6, 9]], dtype=torch.int32)
        ),
        r"grouped_mm: offs has to be a non-empty 1-D tensor",
    ),
    (
        lambda g: g(
            torch.randn(10, 8), torch.randn(2, 8, 8), offs=torch.tensor([2, 6, 9], dtype=torch.int32)
        ),
        r"grouped_mm: 3 offsets for 2 groups",
    ),
    (
        lambda g: g(
            torch.randn(10, 8),
            torch.randn(3, 8, 8, dtype=torch.bfloat16),
            offs=torch.tensor([2, 6, 9], dtype=torch.int32),
        ),
        r"grouped_mm: expected the same dtype for mat_a, mat_b",
    ),
    (
        lambda g: g(
            torch.randn(10, 8, dtype=torch.float64),
            torch.randn(3, 8, 8, dtype=torch.float64),
            offs=torch.tensor([2, 6, 9], dtype=torch.int32),
        ),
        r"grouped_mm: expected mat_a to be Float32, BFloat16 or Float16, got torch.float64",
    ),
    (
        lambda g: g(
            torch.randn(10, 8),
            torch.randn(3, 8, 8),
            offs=torch.tensor([2, 6, 9], dtype=torch.int32),
            bias=torch.randn(3, 8),
        ),
        r"grouped_mm: bias is not supported",
    ),
    (
        lambda g: g(
            torch.randn(10, 8, dtype=torch.bfloat16),
            torch.randn(3, 8, 8, dtype=torch.bfloat16),
            offs=torch.tensor([2, 6, 9], dtype=torch.int32),
            out_dtype=torch.float32,
        ),
        r"grouped_mm: out_dtype must match mat_a's dtype torch.bfloat16",
    ),
]


@pytest.mark.parametrize("call, message", GROUPED_ERRORS)
def test_grouped_mm_errors_have_torchs_types(call, message):
    with pytest.raises(RuntimeError):
        call(torch._grouped_mm)
    with pytest.raises(RuntimeError, match=message):
        call(F.grouped_mm)


def test_grouped_mm_refuses_offsets_torch_leaves_undefined():
    a, b = torch.randn(10, 8), torch.randn(3, 8, 8)
    for ends in ([6, 2, 9], [2, 6, 12]):
        with pytest.raises(RuntimeError, match=r"grouped_mm: offs must be non-decreasing and at most 10"):
            F.grouped_mm(a, b, offs=torch.tensor(ends, dtype=torch.int32))


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["2x3", "3x2", "2x2", "3x3"]),
    groups=st.integers(1, 3),
    cuts=st.lists(st.integers(0, 3), min_size=3, max_size=3),
)
def test_random_groupings(kind, groups, cuts):
    """Random group sizes (empty ones included), every operand layout: the same values and
    gradients as torch (sizes are multiples of 4, the alignment torch's kernel asks for)."""
    ends = torch.tensor(cuts[:groups]).mul(4).cumsum(0).to(torch.int32)
    total = max(int(ends[-1]), 4)
    ends[-1] = total  # the cut dim ends at the last offset
    shapes = {
        "2x3": ((total, 8), (groups, 8, 4)),
        "3x2": ((groups, 4, 8), (8, total)),
        "2x2": ((4, total), (total, 8)),
        "3x3": ((groups, 4, 8), (groups, 8, 4)),
    }[kind]
    offs = None if kind == "3x3" else ends
    a, b = torch.randn(shapes[0]), torch.randn(shapes[1])
    assert_matches_torch(
        lambda a, b: F.grouped_mm(a, b, offs=offs), lambda a, b: torch._grouped_mm(a, b, offs=offs), a, b
    )


def test_grouped_mm_is_routed():
    a, b, offs = grouped_args((10, 8), (3, 8, 4), [2, 6, 10])
    with scratchnn.mode(strict=True) as m:
        torch._grouped_mm(a, b, offs=offs)
        torch._grouped_mm(a, b, offs)
        torch.nn.functional.grouped_mm(a, b, offs=offs)
    assert m.routed["grouped_mm"] == 3


def test_bmm_of_a_bool_input_is_not_implemented_before_the_dtype_check():
    a, b = torch.ones(2, 2, 3, dtype=torch.bool), torch.ones(2, 3, 4, dtype=torch.float64)
    with pytest.raises(NotImplementedError):
        torch.bmm(a, b)
    with pytest.raises(NotImplementedError, match=r"^bmm: \"bmm\" not implemented for 'Bool'"):
        F.bmm(a, b)
    with pytest.raises(RuntimeError):
        torch.bmm(b.transpose(1, 2), a.transpose(1, 2))
    with pytest.raises(RuntimeError, match=r"^bmm: expected the same dtype"):
        F.bmm(b.transpose(1, 2), a.transpose(1, 2))


@pytest.mark.parametrize("op", ["addbmm", "baddbmm"])
def test_a_batch2_of_fewer_than_three_dims_is_an_index_error(op):
    input = torch.randn(5, 2, 4) if op == "baddbmm" else torch.randn(2, 4)
    batch1, batch2 = torch.randn(5, 2, 3), torch.randn(3, 4)
    with pytest.raises(IndexError):
        getattr(torch, op)(input, batch1, batch2)
    with pytest.raises(IndexError, match=rf"^{op}: batch2 must be 3-D"):
        getattr(F, op)(input, batch1, batch2)


@pytest.mark.parametrize("alpha", [math.inf, -math.inf])
def test_addbmm_with_an_infinite_alpha_scales_each_batch_before_the_sum(alpha):
    input, batch1, batch2 = torch.randn(4), torch.randn(5, 2, 3), torch.randn(5, 3, 4)
    ours, theirs = (
        F.addbmm(input, batch1, batch2, alpha=alpha),
        torch.addbmm(input, batch1, batch2, alpha=alpha),
    )
    assert torch.equal(ours.isnan(), theirs.isnan()) and torch.equal(ours.nan_to_num(), theirs.nan_to_num())


def test_grouped_mm_wants_a_leading_stride_of_16_bytes():
    a, b = torch.randn(3, 4, 8), torch.randn(3, 8, 1)  # b's leading stride: 1 float
    with pytest.raises(RuntimeError, match="strides should be multiple of 16 bytes"):
        torch_F.grouped_mm(a, b)
    with pytest.raises(RuntimeError, match=r"^grouped_mm: strides should be multiple of 16 bytes"):
        F.grouped_mm(a, b)
    b = torch.randn(3, 8, 4)
    assert_close(F.grouped_mm(a, b), torch_F.grouped_mm(a, b))
