"""scratchnn.explain and `scratchnn explain`: every functional op explains itself, with the real
shapes of the run, and passes its check against torch."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

import scratchnn
from scratchnn import cli
from scratchnn import functional as F
from scratchnn import nn as snn
from scratchnn._comparison import TOLERANCES
from scratchnn._trace import bind_pattern, recording
from scratchnn.check import cases
from scratchnn.explain import Derivation, _compare, torch_twin

CASES_PER_OP = 3


def is_op(name: str) -> bool:
    """A functional op, not a context manager such as ``sdpa_backend``."""
    fn = getattr(F, name)
    return callable(fn) and not inspect.isgeneratorfunction(getattr(fn, "__wrapped__", None))


OPS = sorted(name for name in F.__all__ if is_op(name))


def tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in tensors(v)]
    return []


# --- the walk over the op list -----------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_every_functional_op_explains_itself(op: str) -> None:
    registered = cases().get(op)
    assert registered, (
        f"{op} has no check cases: register some in scratchnn/checks/ (explain takes its examples there)"
    )
    for index, case in enumerate(registered[:CASES_PER_OP]):
        args, kwargs = case.make(torch.Generator().manual_seed(index))
        torch.manual_seed(index)
        with scratchnn.contraction("literal"):  # the form explain runs in
            expected = tensors(case.ours(*args, **kwargs))
        torch.manual_seed(index)
        # case.ours is the op, or an adapter that calls it (layer_norm's normalized_shape from the weight)
        derivation = scratchnn.explain(case.ours, *args, **kwargs)
        assert derivation.op == op
        assert derivation.outputs == [(tuple(t.shape), t.dtype) for t in expected], f"case {index}"
        for got, want in zip(tensors(derivation.result), expected):  # the explained run is the op's run
            torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)
        assert derivation.check.ok is True, f"case {index}: {derivation.check}"
        assert derivation.check.reference
        inputs = {tuple(t.shape) for t in tensors([list(args), list(kwargs.values())])}
        if derivation.steps:
            produced = {step.output for step in derivation.steps}
            for shape, _ in derivation.outputs:  # every output comes from a step (or is an input, returned)
                assert shape in produced or shape in inputs, f"case {index}: output {shape} from no step"
            for step in derivation.steps:
                assert all(isinstance(size, int) and size >= 0 for s in step.inputs for size in s)
                assert step.literal_bytes >= 0
        else:  # nothing recorded: the op must have returned its input untouched
            assert all(
                any(r is a for a in tensors([list(args), list(kwargs.values())]))
                for r in tensors(derivation.result)
            )
        text, markdown = str(derivation), derivation.markdown()
        assert text.startswith(f"{op}(") and "torch check:" in text and " ok" in text
        assert markdown.count("\n|") == len(derivation.steps) + 2


# --- the derivation of one conv2d, number by number ----------------------------------------------


def conv_derivation(**options) -> Derivation:
    x, w, b = torch.randn(8, 6, 9, 9), torch.randn(4, 3, 3, 3), torch.randn(4)
    return scratchnn.explain(F.conv2d, x, w, b, stride=2, padding=1, groups=2, **options)


def test_conv2d_steps_shapes_legend_and_memory() -> None:
    d = conv_derivation()
    assert [s.kind for s in d.steps] == [
        "pad",
        "windows",
        "rearrange",
        "rearrange",
        "contract",
        "rearrange",
        "torch",
        "torch",
    ]
    pad, windows, split, _, product, merge, view, add = d.steps
    assert (pad.inputs, pad.output) == ([(8, 6, 9, 9)], (8, 6, 11, 11))
    assert pad.literal_bytes == 8 * 6 * 11 * 11 * 4
    assert (windows.output, windows.literal_bytes) == ((8, 6, 5, 5, 3, 3), 0)
    assert windows.bindings == {"h": 5, "w": 5, "kh": 3, "kw": 3}
    assert split.text == "b (g c_in) h w kh kw -> b g c_in h w kh kw"
    assert split.output == (8, 2, 3, 5, 5, 3, 3) and split.literal_bytes == 0
    assert product.text == "b g c_in h w kh kw, g c_out c_in kh kw -> b g c_out h w"
    assert product.inputs == [(8, 2, 3, 5, 5, 3, 3), (2, 2, 3, 3, 3)] and product.output == (8, 2, 2, 5, 5)
    sizes = {"b": 8, "g": 2, "c_in": 3, "h": 5, "w": 5, "kh": 3, "kw": 3, "c_out": 2}
    assert product.bindings == sizes
    assert product.literal_bytes == math.prod(sizes.values()) * 4  # the broadcast product, float32
    assert merge.output == (8, 4, 5, 5)
    assert (view.text, view.output, add.text, add.output) == (
        "x.view(-1, 1, 1)",
        (4, 1, 1),
        "x.add(y)",
        (8, 4, 5, 5),
    )
    assert all(step.where.startswith("conv.py:") for step in d.steps)
    assert d.legend() == "b=8 g=2 c_in=3 h=5 w=5 kh=3 kw=3 c_out=2"
    assert d.literal_bytes() == (product.literal_bytes, sum(s.literal_bytes for s in d.steps))
    assert d.check.reference == "torch.nn.functional.conv2d" and d.check.ok
    assert d.check.max_abs_error is not None and d.check.max_abs_error < 1e-4  # float32, 27-term sums


def test_conv2d_text_and_markdown() -> None:
    d = conv_derivation()
    text = str(d)
    assert text.splitlines()[0] == (
        "conv2d(input (8, 6, 9, 9) float32, weight (4, 3, 3, 3) float32, bias (4,) float32, "
        "stride=2, padding=1, groups=2)"
    )
    assert "→ (8, 4, 5, 5) float32   (8 steps, contraction form: literal)" in text
    assert "legend: b=8 g=2 c_in=3 h=5 w=5 kh=3 kw=3 c_out=2" in text
    assert "(8, 2, 3, 5, 5, 3, 3), (2, 2, 3, 3, 3) → (8, 2, 2, 5, 5)" in text
    assert "literal form: 84.4 KiB in the largest step (step 5, contract)" in text
    assert "torch check: torch.nn.functional.conv2d: max abs error" in text
    markdown = d.markdown()
    assert markdown.startswith("### `conv2d`")
    assert "| # | step | pattern / operation | shapes | legend | literal memory | from |" in markdown
    assert "| 5 | contract | `b g c_in h w kh kw, g c_out c_in kh kw -> b g c_out h w` |" in markdown
    assert d._repr_markdown_() == markdown


def test_literal_form_by_default_unless_a_form_is_chosen() -> None:
    d = conv_derivation()
    assert d.form == "literal" and d.check.ok
    assert "computed in the literal form" in str(d)
    assert scratchnn.current_form() == "fast"  # explain gave the form back
    with scratchnn.contraction("fast"):
        fast = conv_derivation()
    assert fast.form == "fast" and fast.check.ok
    assert "contract" not in [step.kind for step in fast.steps]  # conv's fast schedule is not the formula
    with scratchnn.contraction("literal", budget=2**16):  # a small budget: the product is chunked
        chunked = conv_derivation()
    assert [s.kind for s in chunked.steps] == [s.kind for s in d.steps] and chunked.check.ok


def test_op_given_by_name_by_function_or_as_torchs_op() -> None:
    x, y = torch.randn(2, 3), torch.randn(3, 4)
    by_name, ours, torchs = (scratchnn.explain(op, x, y) for op in ("mm", F.mm, torch.mm))
    assert str(by_name) == str(ours) == str(torchs)
    assert by_name.check.reference == "torch.mm"


def test_unknown_op_and_wrong_type() -> None:
    with pytest.raises(ValueError, match=r"explain: unknown op 'conv4d'; scratchnn.functional has: .*conv2d"):
        scratchnn.explain("conv4d", torch.randn(1))
    with pytest.raises(TypeError, match="explain: op must be a scratchnn op, its name or a module, got int"):
        scratchnn.explain(3, torch.randn(1))  # type: ignore[arg-type]


def test_a_wrong_op_fails_its_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "mm", lambda a, b: torch.mm(a, b) + 1e-3)
    d = scratchnn.explain(
        "mm", torch.randn(2, 3, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    )
    assert d.check.ok is False and d.check.max_abs_error == pytest.approx(1e-3)
    assert str(d).endswith("FAILED")


def test_compare_reports_shape_mismatch_and_torch_errors() -> None:
    mismatch = _compare("ref", torch.zeros(2), lambda: torch.zeros(3), (), {})
    assert mismatch.ok is False and "outputs differ" in mismatch.message

    def refuse():
        raise RuntimeError("no")

    def refuse_type():
        raise TypeError("no structure")

    refused = _compare("ref", torch.zeros(2), refuse, (), {})
    assert refused.ok is False and refused.message == "torch raised RuntimeError: no"
    partial = _compare("the op check cases' reference (f)", torch.zeros(2), lambda: refuse_type(), (), {})
    assert partial.ok is None and "does not take these arguments (TypeError: no structure)" in partial.message
    nan = torch.tensor([float("nan"), float("inf"), 1.0])
    assert _compare("ref", nan, lambda: nan.clone(), (), {}).max_abs_error == 0.0


def test_ops_torch_lacks_are_checked_against_their_check_cases_reference() -> None:
    x = torch.randn(1, 2, 6, 6)
    flat = scratchnn.explain("dilation2d", x, size=3)
    assert flat.check.ok and flat.check.reference.startswith("the dilation2d check cases' reference (")
    shaped = scratchnn.explain("dilation2d", x, structure=torch.randn(3, 3))  # the reference covers flat ones
    assert shaped.check.ok is None and "does not take these arguments" in shaped.check.message


def test_user_function_has_no_torch_check() -> None:
    def block(x, w):
        return F.relu(F.linear(x, w))

    d = scratchnn.explain(block, torch.randn(2, 3), torch.randn(4, 3))
    assert d.check.ok is None and "torch check: none" in str(d)
    assert [s.kind for s in d.steps if s.kind != "torch"] == ["contract"]


# --- modules -------------------------------------------------------------------------------------


def test_module_is_checked_against_its_torch_twin() -> None:
    conv = snn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)
    d = scratchnn.explain(conv, torch.randn(2, 3, 8, 8))
    assert d.check.reference == "torch.nn.Conv2d" and d.check.ok
    assert d.call.startswith(
        "Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)((2, 3, 8, 8)"
    )
    assert d.outputs == [((2, 4, 4, 4), torch.float32)]


def test_container_with_torch_and_scratch_layers() -> None:
    model = torch.nn.Sequential(snn.Conv2d(1, 4, 3), torch.nn.Flatten(), snn.Linear(4 * 6 * 6, 10)).double()
    d = scratchnn.explain(model, torch.randn(5, 1, 8, 8, dtype=torch.float64))
    markers = [s.text for s in d.steps if s.kind == "module"]
    assert markers == [
        "0: Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))",
        "1: Flatten(start_dim=1, end_dim=-1)",
        "2: Linear(in_features=144, out_features=10, bias=True)",
    ]
    assert [s.output for s in d.steps if s.kind == "module"] == [(5, 4, 6, 6), (5, 144), (5, 10)]
    assert (
        d.check.reference == "torch.nn.Sequential"
        and d.check.ok
        and d.check.tolerance == TOLERANCES[torch.float64]
    )
    assert all(not hasattr(layer, "_scratchnn_marker") for layer in model)
    assert not model[0]._forward_pre_hooks and not model[0]._forward_hooks  # the markers' hooks are gone


def test_a_model_of_ones_own_is_checked_with_torch_layers() -> None:
    from scratchnn.commands.demo import DigitsCNN

    d = scratchnn.explain(DigitsCNN(snn).double(), torch.randn(3, 1, 8, 8, dtype=torch.float64))
    assert d.check.reference == "DigitsCNN with torch.nn layers" and d.check.ok
    assert [s.text.split(":")[0] for s in d.steps if s.kind == "module"][:3] == ["conv1", "act", "pool"]


def test_torch_twin_has_the_same_state() -> None:
    layer = snn.Linear(3, 2, bias=False)
    twin = torch_twin(layer)
    assert type(twin) is torch.nn.Linear and twin.bias is None
    assert torch.equal(twin.weight, layer.weight) and twin.weight is not layer.weight
    model = torch.nn.Sequential(snn.Conv1d(2, 3, 3), torch.nn.Tanh()).eval()
    converted = torch_twin(model)
    assert type(converted[0]) is torch.nn.Conv1d and type(model[0]) is snn.Conv1d and not converted.training


def test_a_layer_without_torch_twin() -> None:
    class Strange(torch.nn.Module):
        def forward(self, x):
            return F.relu(x)

    Strange.__module__ = "scratchnn.nn.strange"
    d = scratchnn.explain(Strange(), torch.randn(3))
    assert d.check.ok is None and "no torch.nn twin: torch.nn has no module named Strange" in d.check.message


# --- the recording ------------------------------------------------------------------------------


def test_torch_calls_are_recorded_outside_primitives_only() -> None:
    x = torch.arange(12.0).view(3, 4)
    with recording(torch_calls=True) as steps:
        y = x[..., ::2]
        z = x.clone()
        z[0, 1:] = 5.0
        q, k = x.unbind(0)[:2]
        F.mm(x, x.T)  # one contract step: the einsum inside is not recorded
    texts = [(s.kind, s.text, s.output, s.note) for s in steps]
    assert texts == [
        ("torch", "x[..., ::2]", (3, 2), "a view: no copy"),
        ("torch", "x.clone()", (3, 4), ""),
        ("torch", "x[0, 1:] = 5", (3, 4), "in place"),
        ("torch", "x.unbind(0)", (4,), "3 outputs of this shape, a view: no copy"),
        ("torch", "x.T", (4, 3), "a view: no copy"),
        ("contract", "m n, n p -> m p", (3, 3), "computed in the fast form"),
    ]
    assert steps[1].literal_bytes == 48 and y.shape == (3, 2) and q.shape == k.shape == (4,)


def test_nothing_is_recorded_outside_a_recording() -> None:
    with recording() as steps:
        pass
    F.conv1d(torch.randn(1, 2, 5), torch.randn(3, 2, 2))
    assert steps == []


@pytest.mark.parametrize(
    "pattern, shapes, expected",
    [
        ("b (g c) h -> b g c h", ((2, 6, 5), (2, 3, 2, 5)), {"b": 2, "g": 3, "c": 2, "h": 5}),
        ("... (h r) -> ... h r", ((7, 6), (7, 3, 2)), {"h": 3, "r": 2}),
        ("b c (h 2) -> b c h 2", ((1, 2, 8), (1, 2, 4, 2)), {"b": 1, "c": 2, "h": 4}),
        ("b c h w -> b (c h w)", ((2, 3, 4, 5), (2, 60)), {"b": 2, "c": 3, "h": 4, "w": 5}),
        ("(a b c) -> a b c", ((24,), (2, 3, 4)), {"a": 2, "b": 3, "c": 4}),
    ],
)
def test_bind_pattern(pattern, shapes, expected) -> None:
    assert bind_pattern(pattern, *shapes) == expected


def test_explain_leaves_the_arguments_to_torch_untouched() -> None:
    def double_in_place(x):
        return x.mul_(2)

    F.__dict__["double_in_place"] = double_in_place  # an op of ours would be found by name
    try:
        x = torch.ones(3)
        d = scratchnn.explain(double_in_place, x)
    finally:
        del F.__dict__["double_in_place"]
    assert torch.equal(x, torch.full((3,), 2.0)) and d.check.ok is None


def test_random_ops_draw_the_same_numbers_on_both_sides() -> None:
    x = torch.randn(100)
    torch.manual_seed(3)
    d = scratchnn.explain("dropout", x, p=0.5)
    after_explain = torch.rand(1)
    torch.manual_seed(3)
    F.dropout(x, p=0.5)
    assert torch.equal(torch.rand(1), after_explain)  # explain draws what one call draws
    assert d.check.ok


# --- the command ---------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["explain", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_conv2d(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "conv2d", "--input", "1,3,8,8", "--weight", "4,3,3,3", "--stride", "2", "--padding", "1"
    )
    assert code == 0
    assert out.startswith(
        "conv2d(input (1, 3, 8, 8) float32, weight (4, 3, 3, 3) float32, stride=2, padding=1)"
    )
    assert "legend: b=1 g=1 c_in=3 h=4 w=4 kh=3 kw=3 c_out=4" in out
    assert "torch check: torch.nn.functional.conv2d" in out and out.rstrip().endswith("ok")


def test_cli_options_anywhere_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    argv = "--dtype float64 conv1d --input=2,4,10 --weight 6,2,3 --groups 2 --padding same --markdown"
    code, out, _ = run_cli(capsys, *argv.split(), "--form", "fast")
    assert code == 0 and out.startswith("### `conv1d`")
    assert "`conv1d(input (2, 4, 10) float64, weight (6, 2, 3) float64, padding='same', groups=2)`" in out
    assert "contraction form **fast**" in out and f"tolerance {TOLERANCES[torch.float64]:.0e}" in out


def test_cli_without_arguments_uses_the_first_check_case(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "pad")
    args, _ = cases()["pad"][0].make(torch.Generator().manual_seed(0))
    assert code == 0 and out.startswith(f"pad(input {tuple(args[0].shape)} float32, pad={args[1]!r}")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["conv4d"], "explain: unknown op 'conv4d'"),
        (["conv2d", "--input", "1,3,8,8"], "explain: conv2d needs --weight"),
        (
            ["conv2d", "--input", "1,3,8,a"],
            "explain: --input is a tensor: give its shape, e.g. 1,3,8,8 or 1x3x8x8; got '1,3,8,a'",
        ),
        (  # not read as (1, 3, 8)
            ["conv2d", "--input", "1,3,x,8"],
            "explain: --input is a tensor: give its shape, e.g. 1,3,8,8 or 1x3x8x8; got '1,3,x,8'",
        ),
        (["conv2d", "--input", "1,3:complex"], "explain: --input: unknown dtype 'complex'"),
        (
            ["conv2d", "--kernel", "3"],
            "explain: conv2d has no argument 'kernel'; its arguments: --input, --weight",
        ),
        (["conv2d", "--stride"], "explain: --stride needs a value"),
        (["conv2d", "stride"], "explain: expected --NAME VALUE, got 'stride'"),
        (["conv2d", "--input", "1,3,8,8", "--input", "1,3,8,8"], "explain: --input given twice"),
    ],
)
def test_cli_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and err.startswith(message)


def test_cli_op_errors_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "conv2d", "--input", "1,3,8,8", "--weight", "4,2,3,3")
    assert code == 1 and err.startswith("explain: conv2d raised RuntimeError: conv2d: input has 3 channels")


# The ops the issue names, explained from the command line.
CLI_CALLS = {
    "conv2d": ["--input", "2,3,8,8", "--weight", "4,3,3,3", "--stride", "2", "--padding", "1"],
    "conv_transpose2d": [
        "--input",
        "1,4,5,5",
        "--weight",
        "4,2,3,3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--output-padding",
        "1",
    ],
    "max_pool2d": ["--input", "1,3,8,8", "--kernel-size", "3", "--stride", "2", "--padding", "1"],
    "scaled_dot_product_attention": [
        "--query",
        "2,4,5,8",
        "--key",
        "2,4,7,8",
        "--value",
        "2,4,7,6",
        "--attn-mask",
        "5,7:bool",
    ],
    "multi_head_attention_forward": ["--query", "5,2,16", "--num-heads", "4"],
}


@pytest.mark.parametrize("op", sorted(CLI_CALLS))
def test_cli_explains_the_named_ops(capsys: pytest.CaptureFixture[str], op: str) -> None:
    code, out, err = run_cli(capsys, op, *CLI_CALLS[op])
    assert code == 0, err + out
    assert out.startswith(f"{op}(") and out.rstrip().endswith("ok")
    steps = [line for line in out.splitlines() if line[:5].strip().isdigit()]
    assert steps, out


def test_cli_multi_head_attention_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "multi_head_attention_forward")
    assert code == 0, err
    first = out.splitlines()[0]
    assert (
        "query (5, 2, 16) float32" in first and "num_heads=2" in first and "in_proj_weight (48, 16)" in first
    )


def test_a_custom_semiring_has_no_reference_rather_than_a_failure():
    semiring = F.get_semiring("max-plus")
    custom = F.Semiring("mine", semiring.combine, semiring.reduce)
    d = scratchnn.explain(
        "semiring_conv2d", torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3), semiring=custom
    )
    assert d.check.ok is None
    assert str(d.check).startswith(
        "torch check: none (no reference: the semiring_conv2d check cases' reference"
    )
    assert "FAILED" not in str(d)


def test_a_plain_torch_model_is_explained_on_scratch_ops():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 5)
    )
    d = scratchnn.explain(model, torch.randn(2, 3, 8, 8))
    assert "(torch.nn layers run on scratch ops, under scratchnn.mode())" in d.call
    kinds = [step.kind for step in d.steps]
    assert "contract" in kinds and "windows" in kinds  # the convolution's formula, not a torch call
    assert d.check.reference == "torch.nn.Sequential" and d.check.ok
    assert not any(step.text.startswith("torch.nn.functional.") for step in d.steps)  # nothing ran natively
