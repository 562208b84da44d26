"""The deliberate differences from torch (README, "Deliberate differences from torch"): each test
pins what torch does and what scratchnn does instead, so the day torch changes, the list changes.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as torch_F

import scratchnn.functional as F


def test_gelu_of_plus_infinity_is_infinity():
    x = torch.tensor([math.inf, 1.0])
    assert torch_F.gelu(x)[0].isnan()  # torch's kernel
    assert F.gelu(x)[0] == math.inf  # the formula's limit, x · Φ(x) → ∞
    assert torch.equal(F.gelu(x)[1:], torch_F.gelu(x)[1:])


def test_instance_norm_of_an_empty_batch_is_empty():
    x, weight, bias = torch.randn(0, 4, 6), torch.ones(4), torch.zeros(4)
    with pytest.raises(IndexError):  # torch, with an affine weight
        torch_F.instance_norm(x, weight=weight, bias=bias)
    assert F.instance_norm(x, weight=weight, bias=bias).shape == (0, 4, 6)


def test_pixel_unshuffle_of_an_empty_input_has_the_unshuffled_shape():
    x = torch.randn(2, 0, 4, 6)
    assert torch_F.pixel_unshuffle(x, 2).shape == (2, 0, 4, 6)  # torch returns the input's shape
    assert F.pixel_unshuffle(x, 2).shape == (2, 0, 2, 3)  # c·r², h/r, w/r, as for any input


def test_pixel_shuffle_of_a_channels_last_3d_input_is_computed():
    x = torch.randn(2, 3, 8, 2, 2).contiguous(memory_format=torch.channels_last_3d)
    with pytest.raises(RuntimeError, match="Unsupported memory format"):
        torch_F.pixel_shuffle(x, 2)
    assert torch.equal(F.pixel_shuffle(x, 2), torch_F.pixel_shuffle(x.contiguous(), 2))


def test_unbatched_channels_last_3d_pooling_is_computed():
    x = torch.randn(3, 9, 8, 7).contiguous(memory_format=torch.channels_last)  # (c, d, h, w)
    with pytest.raises(RuntimeError, match="Unsupported memory format"):
        torch_F.max_pool3d(x, 2)
    assert torch.equal(F.max_pool3d(x, 2), torch_F.max_pool3d(x.contiguous(), 2))


def test_a_nan_unpool_kernel_size_is_a_type_error():
    x, indices = torch_F.max_pool1d(torch.randn(2, 3, 8), 2, return_indices=True)
    with pytest.raises(ValueError):
        torch_F.max_unpool1d(x, indices, math.nan)
    with pytest.raises(TypeError, match="max_unpool1d: kernel_size must be an int"):
        F.max_unpool1d(x, indices, math.nan)


def test_a_non_tensor_argument_is_a_type_error_where_torch_raises_attribute_error():
    with pytest.raises(AttributeError):
        torch_F.softmax([1.0, 2.0], 0)
    with pytest.raises(TypeError, match=r"softmax: argument 'input' \(position 1\) must be Tensor, not list"):
        F.softmax([1.0, 2.0], 0)


def test_complex_sigmoid_with_a_large_negative_real_part():
    z = torch.tensor([complex(-800, 2)], dtype=torch.complex128)
    assert torch.sigmoid(z).isnan().all()  # torch's 1 / (1 + e^{-z}) overflows
    assert F.sigmoid(z).abs().item() == 0.0  # e^{z} / (1 + e^{z}) for Re z < 0


def test_batch_norm_backward_with_a_channels_last_gradient_of_batch_one():
    """torch's CPU batch_norm backward is wrong for a batch of 1 when the incoming gradient has the
    strides of ``flatten(2).transpose(1, 2)``'s gradient, (C, 1, W·C, C); given a contiguous copy
    of the same gradient it agrees with scratchnn."""
    torch.manual_seed(0)
    x = torch.randn(1, 8, 5, 6, dtype=torch.float64)
    weight, bias = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    grad = (
        torch.randn(1, 5 * 6, 8, dtype=torch.float64).transpose(1, 2).unflatten(2, (5, 6))
    )  # strides (C, 1, W·C, C)

    def grads(op, cotangent):
        inputs = [t.clone().requires_grad_() for t in (x, weight, bias)]
        out = op(inputs[0], None, None, inputs[1], inputs[2], training=True)
        return torch.autograd.grad(out, inputs, cotangent)

    torch_strided = grads(torch_F.batch_norm, grad)
    torch_contiguous = grads(torch_F.batch_norm, grad.contiguous())
    ours = grads(F.batch_norm, grad)
    assert (torch_strided[0] - torch_contiguous[0]).abs().max() > 1e-3  # torch disagrees with itself
    for mine, reference in zip(ours, torch_contiguous):
        assert torch.allclose(mine, reference, rtol=1e-10, atol=1e-10)


def test_local_response_norm_of_int64_input_is_refused():
    x = torch.arange(2 * 6 * 3 * 3).view(2, 6, 3, 3)
    assert (
        torch_F.local_response_norm(x, 2).dtype == torch.float32
    )  # torch: integer average pooling, then float
    with pytest.raises(NotImplementedError, match=r"local_response_norm: not implemented for torch\.int64"):
        F.local_response_norm(x, 2)


def test_elu_with_a_nan_alpha_follows_the_formula():
    x = torch.tensor([0.0, 2.0], dtype=torch.float64)
    for ours, theirs in ((F.elu, torch_F.elu), (F.celu, torch_F.celu)):
        assert theirs(x, alpha=math.nan)[0] == 0  # torch's kernel at 0
        assert ours(x, alpha=math.nan)[0].isnan()  # alpha · (e⁰ − 1) = NaN · 0
        assert torch.equal(ours(x, alpha=math.nan)[1:], theirs(x, alpha=math.nan)[1:])


def _gru_params(bidirectional: bool, bias: bool = True) -> list[torch.Tensor]:
    module = torch.nn.GRU(3, 4, bias=bias, bidirectional=bidirectional).double()
    return [p.detach() for p in module.parameters()]


def test_packed_batch_sizes_must_be_1d_and_sum_to_the_rows_of_data():
    data, h0 = torch.randn(6, 3, dtype=torch.float64), torch.randn(2, 2, 4, dtype=torch.float64)
    params = _gru_params(bidirectional=True)
    short = torch.tensor([2])  # 2 rows of 6: torch's forward direction reads rows 0-1, its reverse rows 4-5
    out, _ = torch.gru(data, short, h0, params, True, 1, 0.0, False, True)
    forward, _ = torch.gru(data[:2], short, h0[:1], params[:4], True, 1, 0.0, False, False)
    reverse, _ = torch.gru(data[4:], short, h0[1:], params[4:], True, 1, 0.0, False, False)  # one step
    assert torch.allclose(out[:, :4], forward) and torch.allclose(out[:, 4:], reverse)
    with pytest.raises(RuntimeError, match="gru: batch_sizes sum to 2, but data has other rows"):
        F.gru(data, short, h0, params, True, 1, 0.0, False, True)
    flat = torch.tensor([[2, 2, 1, 1]])  # torch: one step of batch 2 (the memory's first element)
    assert torch.gru(data, flat, h0[:1], params[:4], True, 1, 0.0, False, False)[0].shape == (2, 4)
    with pytest.raises(RuntimeError, match="gru: batch_sizes must be a non-empty 1-D tensor"):
        F.gru(data, flat, h0[:1], params[:4], True, 1, 0.0, False, False)


def test_a_bool_input_to_a_recurrent_layer_is_a_runtime_error():
    x, h0 = torch.ones(3, 4, 3, dtype=torch.bool), torch.randn(1, 3, 4, dtype=torch.float64)
    params = _gru_params(bidirectional=False, bias=False)
    with pytest.raises(NotImplementedError, match="bmm"):  # batch_first: torch's matmul cannot fold x
        torch.gru(x, h0, params, False, 1, 0.0, False, False, True)
    with pytest.raises(RuntimeError):  # torch, the same input laid out time-major
        torch.gru(x.transpose(0, 1).contiguous(), h0, params, False, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="gru: expected the same dtype for input, w_ih"):
        F.gru(x, h0, params, False, 1, 0.0, False, False, True)


def test_embedding_bag_refuses_bool_and_uint8_indices():
    weight, offsets = torch.randn(4, 3), torch.tensor([0])
    for dtype in (torch.bool, torch.uint8):
        indices = torch.tensor([1, 2]).to(dtype)
        assert torch_F.embedding_bag(indices, weight, offsets).shape == (1, 3)  # torch reads them
        with pytest.raises(RuntimeError, match="embedding_bag: Expected tensor for argument #1 'indices'"):
            F.embedding_bag(indices, weight, offsets)


# --- losses ---------------------------------------------------------------------------------------


def test_a_byte_target_out_of_range_is_an_index_error():
    x, target = torch.randn(3, 5).log_softmax(1), torch.tensor([1, 156, 0], dtype=torch.uint8)
    with pytest.raises(UnicodeDecodeError):  # torch's message holds the target as a raw byte
        torch_F.nll_loss(x, target, reduction="none")
    with pytest.raises(IndexError, match="Target 156 is out of bounds"):
        torch_F.nll_loss(x, target)  # torch's own 'mean' path: the number
    for reduction in ("none", "mean"):
        with pytest.raises(IndexError, match="nll_loss: Target 156 is out of bounds"):
            F.nll_loss(x, target, reduction=reduction)


def test_a_ctc_label_outside_the_classes_is_an_error():
    log_probs = torch.randn(6, 2, 5, dtype=torch.float64).log_softmax(2)
    targets, lengths = torch.tensor([[1, 4], [2, 3]]), (torch.tensor([6, 6]), torch.tensor([2, 2]))
    narrowed = log_probs[:, :, :3]  # a view: torch reads classes 3 and 4 from the memory beyond it
    assert torch.equal(
        torch_F.ctc_loss(narrowed, targets, *lengths, reduction="none"),
        torch_F.ctc_loss(log_probs, targets, *lengths, reduction="none"),
    )
    with pytest.raises(RuntimeError, match=r"ctc_loss: targets must be class indices in \[0, 3\)"):
        F.ctc_loss(narrowed, targets, *lengths)


def test_a_fractional_pooling_kernel_size_below_one_is_refused():
    x, samples = torch.randn(1, 2, 7, 8, dtype=torch.float64), torch.rand(1, 2, 2, dtype=torch.float64)
    values, indices = torch_F.fractional_max_pool2d(
        x, -1, output_size=3, return_indices=True, _random_samples=samples
    )
    assert values.isneginf().all() and bool((indices >= 7 * 8).any())  # empty windows, stray indices
    with pytest.raises(RuntimeError, match=r"^fractional_max_pool2d: kernel_size must be positive"):
        F.fractional_max_pool2d(x, 0, output_size=3, _random_samples=samples)
    volume, samples3 = torch.randn(1, 2, 7, 8, 6), torch.rand(1, 2, 3)
    assert torch_F.fractional_max_pool3d(volume, 0, output_size=3, _random_samples=samples3).isneginf().all()
    with pytest.raises(RuntimeError, match=r"^fractional_max_pool3d: kernel_size must be positive"):
        F.fractional_max_pool3d(volume, 0, output_size=3, _random_samples=samples3)


def test_addmv_of_an_empty_matrix_has_the_product_shape():
    input, mat, vec = torch.ones(1), torch.ones(2, 0), torch.ones(0)
    assert torch.addmv(input, mat, vec, beta=2.0).shape == (1,)  # torch: input's shape, unbroadcast
    assert torch.addmm(input, torch.ones(0, 3), torch.ones(3, 2)).shape == (0, 2)  # its addmm broadcasts
    assert torch.equal(F.addmv(input, mat, vec, beta=2.0), torch.full((2,), 2.0))  # beta · input, (m,)
    assert F.addmv(input, torch.ones(0, 3), torch.ones(3)).shape == (0,)


def test_grouped_mm_offsets_past_the_cut_dim_are_refused():
    a, b = torch.randn(8, 8), torch.randn(3, 8, 4)
    offs = torch.tensor([2, 6, 10], dtype=torch.int32)  # past a's 8 rows
    assert torch_F.grouped_mm(a, b, offs=offs).shape == (8, 4)  # torch reads beyond a
    with pytest.raises(RuntimeError, match=r"^grouped_mm: offs must be non-decreasing and at most 8"):
        F.grouped_mm(a, b, offs=offs)


def test_bilinear_upsampling_of_uint8_is_not_implemented():
    x = torch.randint(0, 255, (1, 2, 4, 5), dtype=torch.uint8)
    assert torch_F.upsample_bilinear(x, scale_factor=2).dtype == torch.uint8  # torch's fixed-point path
    with pytest.raises(NotImplementedError, match=r"^upsample_bilinear: interpolate: mode='bilinear' is not"):
        F.upsample_bilinear(x, scale_factor=2)
