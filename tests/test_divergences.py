"""Regression tests for the divergences from torch found by probing (issue list) and by the
fuzzer: each call raises what torch raises, or returns what torch returns, in torch's layout; and a
call that raises leaves every in-place buffer as it was."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as torch_F

import scratchnn.functional as F
import scratchnn.nn as snn


def same_error(call, error: type[Exception], match: str) -> None:
    with pytest.raises(error):
        call(torch_F)
    with pytest.raises(error, match=match):
        call(F)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda f: f.conv2d([[1.0]], torch.randn(1, 1, 1, 1)), "input"),
        (lambda f: f.conv_transpose2d([[1.0]], torch.randn(1, 1, 1, 1)), "input"),
        (lambda f: f.max_pool2d([[1.0]], 2), "input"),
        (lambda f: f.scaled_dot_product_attention([1.0], torch.randn(1, 2), torch.randn(1, 2)), "query"),
        (lambda f: f.batch_norm([[1.0]], None, None, training=True), "input"),
        (lambda f: f.embedding([0], torch.randn(2, 3)), "input"),
        (lambda f: f.pad([1.0], (1, 1)), "input"),
        (lambda f: f.linear([1.0], torch.randn(2, 1)), "input"),
    ],
)
def test_a_list_where_a_tensor_goes_is_a_type_error_naming_the_argument(call, argument):
    with pytest.raises(
        (TypeError, AttributeError)
    ):  # torch: TypeError, or its Python wrapper's AttributeError
        call(torch_F)
    with pytest.raises(TypeError, match=rf"argument '{argument}' \(position \d\) must be Tensor, not list"):
        call(F)


def test_conv_with_no_output_channels():
    same_error(
        lambda f: f.conv2d(torch.randn(1, 3, 8, 8), torch.randn(0, 3, 3, 3)),
        RuntimeError,
        r"conv2d: Given groups=1, expected weight to be at least 1 at dimension 0",
    )


def test_conv_transpose_with_no_input_channels():
    same_error(
        lambda f: f.conv_transpose2d(torch.randn(1, 0, 8, 8), torch.randn(0, 3, 3, 3)),
        RuntimeError,
        r"conv_transpose2d: Given groups=1, expected weight to be at least 1 at dimension 0",
    )


def test_conv_transpose_on_int32_input():
    same_error(
        lambda f: f.conv_transpose2d(torch.ones(1, 3, 4, 4, dtype=torch.int32), torch.randn(3, 2, 3, 3)),
        NotImplementedError,
        r"conv_transpose2d: not implemented for torch\.int32 input",
    )


def test_batch_norm_running_stats_must_be_one_dimensional():
    same_error(
        lambda f: f.batch_norm(torch.randn(4, 3), torch.zeros(1, 3), torch.ones(1, 3)),
        RuntimeError,
        r"batch_norm: running_mean must be 1-d, got 2 dims",
    )


def test_batch_norm_on_a_one_dimensional_input():
    same_error(
        lambda f: f.batch_norm(torch.randn(5), torch.zeros(5), torch.ones(5)),
        RuntimeError,
        r"batch_norm: running_mean should contain 0 elements not 5",
    )


@pytest.mark.parametrize("dtype", [torch.int64, torch.complex64])
def test_batch_norm_on_integer_and_complex_input(dtype):
    same_error(
        lambda f: f.batch_norm(torch.ones(4, 3).to(dtype), torch.zeros(3), torch.ones(3)),
        NotImplementedError,
        r"batch_norm: not implemented for torch\.(int64|complex64)",
    )


def test_batch_norm_on_an_empty_one_dimensional_input():
    x = torch.randn(0)
    assert (
        F.batch_norm(x, torch.zeros(0), torch.ones(0)).shape
        == torch_F.batch_norm(x, torch.zeros(0), torch.ones(0)).shape
    )


@pytest.mark.parametrize("scale", [math.nan, math.inf, -math.inf])
def test_interpolate_with_a_non_finite_scale_factor(scale):
    same_error(
        lambda f: f.interpolate(torch.randn(1, 2, 4, 4), scale_factor=scale),
        RuntimeError,
        r"interpolate: value cannot be converted to type int64_t without overflow",
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda f, x: f.conv2d(x, torch.randn(4, 3, 3, 3), padding=1),
        lambda f, x: f.conv_transpose2d(x, torch.randn(3, 4, 3, 3)),
        lambda f, x: f.max_pool2d(x, 2),
        lambda f, x: f.avg_pool2d(x, 2),
    ],
    ids=["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"],
)
def test_channels_last_in_gives_channels_last_out(call):
    x = torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    ours, theirs = call(F, x), call(torch_F, x)
    assert theirs.is_contiguous(memory_format=torch.channels_last) and not theirs.is_contiguous()
    assert ours.is_contiguous(memory_format=torch.channels_last) and ours.stride() == theirs.stride()


def test_multi_head_attention_names_itself_in_a_projection_error():
    q = torch.randn(5, 2, 8)
    args = (
        q,
        q,
        q,
        8,
        2,
        torch.randn(20, 8),
        torch.randn(8),
        None,
        None,
        False,
        0.0,
        torch.randn(8, 8),
        None,
    )
    with pytest.raises(RuntimeError, match=r"^multi_head_attention_forward: "):
        F.multi_head_attention_forward(*args)


# --- a call that raises changes no state ----------------------------------------------------------


def test_batch_norm_that_raises_leaves_the_running_stats():
    mean, var = torch.randn(3), torch.rand(3) + 0.5
    before = mean.clone(), var.clone()
    with pytest.raises(RuntimeError):
        F.batch_norm(torch.randn(4, 3, 5), mean, var, torch.ones(4), None, training=True)  # weight of 4
    assert torch.equal(mean, before[0]) and torch.equal(var, before[1])


def test_batch_norm_module_that_raises_counts_no_batch():
    module = snn.BatchNorm1d(3)
    with pytest.raises(RuntimeError):
        module(torch.randn(4, 3, 5).to(torch.float64))  # float64 input, float32 parameters
    assert module.num_batches_tracked.item() == 0 and torch.equal(module.running_mean, torch.zeros(3))


def test_instance_norm_that_raises_leaves_the_running_stats():
    mean, var = torch.randn(3), torch.rand(3) + 0.5
    before = mean.clone(), var.clone()
    with pytest.raises(RuntimeError):
        F.instance_norm(torch.randn(2, 3, 5), mean, var, torch.ones(2), use_input_stats=True)
    assert torch.equal(mean, before[0]) and torch.equal(var, before[1])


def test_embedding_bag_that_raises_leaves_the_weight_unrenormalized():
    weight = 10 * torch.randn(5, 3)
    before = weight.clone()
    with pytest.raises(NotImplementedError):  # per_sample_weights with mode='max'
        F.embedding_bag(
            torch.tensor([1, 2]),
            weight,
            torch.tensor([0]),
            max_norm=1.0,
            mode="max",
            per_sample_weights=torch.ones(2),
        )
    assert torch.equal(weight, before)
