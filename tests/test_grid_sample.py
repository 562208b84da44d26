"""affine_grid and grid_sample against torch: every mode, padding mode and align_corners, 2-D and
3-D, values and gradients w.r.t. input and grid (points on and beyond the borders), errors, warnings."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch

f64 = torch.float64
MODES = ["bilinear", "nearest", "bicubic"]
PADDING_MODES = ["zeros", "border", "reflection"]
# coordinates where a formula switches: the corners' centres and edges, the centre, and beyond
SPECIAL = [-1.0, 1.0, 0.0, 0.5, -0.5, 1.25, -1.25, 3.0, -3.0]


@st.composite
def sample_config(draw):
    n = draw(st.sampled_from([2, 3]))
    mode = draw(st.sampled_from(MODES if n == 2 else MODES[:2]))
    spatial = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    out = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    count = batch * torch.Size(out).numel() * n
    values = draw(
        st.lists(st.one_of(st.sampled_from(SPECIAL), st.floats(-1.6, 1.6)), min_size=count, max_size=count)
    )
    grid = torch.tensor(values, dtype=f64).view(batch, *out, n)
    return torch.randn(batch, channels, *spatial, dtype=f64), grid, mode


@given(
    sample_config(),
    st.sampled_from(PADDING_MODES),
    st.booleans(),
    st.sampled_from([f64, torch.float32]),
)
def test_grid_sample_matches_torch(config, padding_mode, align_corners, dtype):
    x, grid, mode = config
    assert_matches_torch(
        F.grid_sample, torch_F.grid_sample, x.to(dtype), grid.to(dtype), mode, padding_mode, align_corners
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_gradcheck(mode, padding_mode, align_corners):
    x = torch.randn(1, 2, 3, 4, dtype=f64, requires_grad=True)
    grid = (2.4 * torch.rand(1, 2, 3, 2, dtype=f64) - 1.2).requires_grad_(mode != "nearest")
    assert torch.autograd.gradcheck(
        lambda x, g: F.grid_sample(x, g, mode, padding_mode, align_corners),
        (x, grid),
        check_undefined_grad=False,
    )


@pytest.mark.parametrize("mode", MODES[:2])
def test_grid_sample_3d_gradcheck(mode):
    x = torch.randn(1, 1, 2, 3, 3, dtype=f64, requires_grad=True)
    grid = (2.4 * torch.rand(1, 2, 1, 2, 3, dtype=f64) - 1.2).requires_grad_(mode != "nearest")
    assert torch.autograd.gradcheck(lambda x, g: F.grid_sample(x, g, mode, "reflection", False), (x, grid))


def test_bilinear_is_four_weighted_gathers():
    image = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=f64)
    grid = torch.tensor([[[[-0.5, 0.0]]]], dtype=f64)  # x = 0.25 of the way across, y halfway
    out = F.grid_sample(image, grid, align_corners=True)
    assert_close(out.flatten(), torch.tensor([0.75 * 0.5 * (1 + 3) + 0.25 * 0.5 * (2 + 4)], dtype=f64))


def test_empty_batch_channels_and_output():
    x, grid = torch.randn(0, 2, 3, 4, dtype=f64), torch.zeros(0, 2, 2, 2, dtype=f64)
    assert_matches_torch(F.grid_sample, torch_F.grid_sample, x, grid, align_corners=False)
    x, grid = torch.randn(2, 0, 3, 4, dtype=f64), torch.zeros(2, 2, 2, 2, dtype=f64)
    assert_matches_torch(F.grid_sample, torch_F.grid_sample, x, grid, align_corners=False)
    x, grid = torch.randn(2, 3, 3, 4, dtype=f64), torch.zeros(2, 0, 2, 2, dtype=f64)
    assert_matches_torch(F.grid_sample, torch_F.grid_sample, x, grid, align_corners=False)


def test_default_align_corners_warns_like_torch():
    x, grid = torch.randn(1, 1, 3, 3), torch.zeros(1, 2, 2, 2)
    theta = torch.eye(2, 3).unsqueeze(0)
    for ours, theirs, args in (
        (F.grid_sample, torch_F.grid_sample, (x, grid)),
        (F.affine_grid, torch_F.affine_grid, (theta, [1, 1, 3, 3])),
    ):
        with pytest.warns(
            UserWarning, match="Default grid_sample and affine_grid behavior has changed"
        ) as caught:
            ours(*args)
        assert caught[0].filename == __file__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_close(ours(*args), theirs(*args))


@st.composite
def invalid_sample(draw):
    """A configuration torch refuses, and how it is wrong."""
    x, grid = torch.randn(2, 3, 4, 5), torch.zeros(2, 3, 3, 2)
    wrong = draw(st.sampled_from(["batch", "coordinates", "empty", "rank", "bicubic-3d", "dtype", "integer"]))
    mode = "bilinear"
    if wrong == "batch":
        grid = grid[:1]
    elif wrong == "coordinates":
        grid = torch.zeros(2, 3, 3, draw(st.sampled_from([1, 3])))
    elif wrong == "empty":
        x = torch.randn(2, 3, 0, 5)
    elif wrong == "rank":
        x, grid = torch.randn(2, 3, 5), torch.zeros(2, 3, 1)
    elif wrong == "bicubic-3d":
        x, grid, mode = torch.randn(2, 3, 2, 4, 5), torch.zeros(2, 1, 3, 3, 3), "bicubic"
    elif wrong == "dtype":
        grid = grid.double()
    else:
        x, grid = x.long(), grid.long()
    return x, grid, mode


@given(invalid_sample())
def test_invalid_configurations_raise_like_torch(config):
    x, grid, mode = config
    with pytest.raises(Exception) as theirs:
        torch_F.grid_sample(x, grid, mode, align_corners=False)
    with pytest.raises(theirs.type, match=r"^grid_sample: "):
        F.grid_sample(x, grid, mode, align_corners=False)


@pytest.mark.parametrize(
    ("x", "grid", "kwargs", "error", "message"),
    [
        ((2, 3, 4, 5), (1, 3, 3, 2), {}, RuntimeError, "expected grid and input to have same batch size"),
        ((2, 3, 4, 5), (2, 3, 3, 3), {}, RuntimeError, "expected grid to have size 2 in last dimension"),
        ((2, 3, 0, 5), (2, 3, 3, 2), {}, RuntimeError, "with dimension 2 being empty"),
        ((2, 3, 5), (2, 3, 1), {}, RuntimeError, "D input and grid with same number of dimensions"),
        (
            (1, 1, 2, 3, 3),
            (1, 1, 1, 1, 3),
            {"mode": "bicubic"},
            RuntimeError,
            "bicubic interpolation only supports 4D",
        ),
        (
            (1, 1, 3, 3),
            (1, 1, 1, 2),
            {"mode": "area"},
            ValueError,
            "expected mode to be 'bilinear', 'nearest' or",
        ),
        (
            (1, 1, 3, 3),
            (1, 1, 1, 2),
            {"padding_mode": "wrap"},
            ValueError,
            "expected padding_mode to be 'zeros'",
        ),
    ],
    ids=["batch", "coordinates", "empty", "rank", "bicubic-3d", "mode", "padding-mode"],
)
def test_grid_sample_error_messages(x, grid, kwargs, error, message):
    x, grid = torch.randn(x), torch.zeros(grid)
    with pytest.raises(error, match=message):
        torch_F.grid_sample(x, grid, align_corners=False, **kwargs)
    with pytest.raises(error, match=f"^grid_sample: .*{message}"):
        F.grid_sample(x, grid, align_corners=False, **kwargs)
    with pytest.raises(NotImplementedError, match=r"^grid_sample: not implemented for torch\.int64 input"):
        F.grid_sample(
            torch.zeros(1, 1, 2, 2, dtype=torch.long),
            torch.zeros(1, 1, 1, 2, dtype=torch.long),
            align_corners=False,
        )
    with pytest.raises(RuntimeError, match=r"^grid_sample: expected input and grid of the same dtype"):
        F.grid_sample(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 1, 2, dtype=f64), align_corners=False)


# --- affine_grid -------------------------------------------------------------------------------


@given(
    st.sampled_from([2, 3]),
    st.lists(st.integers(1, 5), min_size=3, max_size=3),
    st.integers(1, 3),
    st.booleans(),
    st.sampled_from([f64, torch.float32]),
)
def test_affine_grid_matches_torch(n, spatial, batch, align_corners, dtype):
    theta = torch.randn(batch, n, n + 1, dtype=dtype)
    size = [batch, 2, *spatial[:n]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit sizes with align_corners warn (tested below)
        assert_matches_torch(F.affine_grid, torch_F.affine_grid, theta, size, align_corners)


def test_affine_grid_then_grid_sample_rotates_like_torch():
    angle = torch.tensor(0.3, dtype=f64)
    theta = torch.stack(
        [
            torch.stack([angle.cos(), -angle.sin(), angle * 0]),
            torch.stack([angle.sin(), angle.cos(), angle * 0]),
        ]
    ).unsqueeze(0)
    image = torch.randn(1, 3, 6, 7, dtype=f64)

    def rotate(functional):
        def run(theta, image):
            grid = functional.affine_grid(theta, [1, 3, 5, 4], align_corners=False)
            return functional.grid_sample(image, grid, "bicubic", "reflection", align_corners=False)

        return run

    assert_matches_torch(rotate(F), rotate(torch_F), theta, image)
    leaf = theta.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: F.affine_grid(t, [1, 1, 2, 3], align_corners=True), (leaf,))


@pytest.mark.parametrize(
    ("theta", "size", "error", "message"),
    [
        ((2, 2, 3), [2, 3, 4], NotImplementedError, r"affine_grid only supports 4D and 5D sizes"),
        ((2, 3, 4), [2, 3, 4, 5], ValueError, r"Expected a batch of 2D affine matrices of shape Nx2x3"),
        ((2, 2, 3), [2, 3, 4, 4, 5], ValueError, r"Expected a batch of 3D affine matrices of shape Nx3x4"),
        ((2, 2, 3), [2, 3, 0, 5], ValueError, r"Expected non-zero, positive output size. Got \[2, 3, 0, 5\]"),
        ((2, 2, 3), [3, 3, 4, 5], RuntimeError, r"theta holds 2 matrices but size asks for a batch of 3"),
    ],
    ids=["3-d-size", "theta-2d", "theta-3d", "zero-size", "batch"],
)
def test_affine_grid_errors_match_torch(theta, size, error, message):
    theta = torch.randn(theta)
    with pytest.raises(error, match=None if error is RuntimeError else message):  # torch's bmm complains
        torch_F.affine_grid(theta, size, align_corners=False)
    with pytest.raises(error, match=f"^affine_grid: {message}"):
        F.affine_grid(theta, size, align_corners=False)
    with pytest.raises(ValueError, match="Expected theta to have floating point type"):
        torch_F.affine_grid(theta.long(), [2, 3, 4, 5], align_corners=False)
    with pytest.raises(
        ValueError, match=r"^affine_grid: Expected theta to have floating point type, but got torch\.int64"
    ):
        F.affine_grid(theta.long(), [2, 3, 4, 5], align_corners=False)


def test_affine_grid_unit_size_with_align_corners_warns_like_torch():
    theta = torch.randn(1, 2, 3)
    for fn in (torch_F.affine_grid, F.affine_grid):
        with pytest.warns(UserWarning, match="affine_grid behavior has changed for unit-size grids"):
            fn(theta, [1, 1, 1, 3], align_corners=True)


def test_the_grid_and_the_samples_are_contiguous_as_torch_returns_them():
    theta = torch.randn(2, 2, 3, dtype=torch.float64)
    grid = F.affine_grid(theta, [2, 3, 4, 5], align_corners=False)
    assert (
        grid.is_contiguous() and torch_F.affine_grid(theta, [2, 3, 4, 5], align_corners=False).is_contiguous()
    )
    for image in (
        torch.randn(2, 3, 4, 5),
        torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last),
    ):
        sample_grid = torch.rand(2, 3, 6, 2) * 2 - 1
        ours = F.grid_sample(image, sample_grid, align_corners=True)
        assert (
            ours.is_contiguous()
            and torch_F.grid_sample(image, sample_grid, align_corners=True).is_contiguous()
        )
    volume, volume_grid = torch.randn(2, 3, 3, 4, 5), torch.rand(2, 2, 3, 2, 3) * 2 - 1
    assert F.grid_sample(volume, volume_grid, align_corners=False).is_contiguous()


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_non_finite_grid_points_and_inputs_read_as_torch_reads_them(mode, padding_mode):
    x = torch.arange(1.0, 21.0, dtype=torch.float64).view(1, 1, 4, 5)
    points = [[math.nan, 0.3], [0.3, math.nan], [math.inf, 0.3], [-math.inf, 0.3], [0.3, 0.2]]
    grid = torch.tensor(points, dtype=torch.float64).view(1, 1, 5, 2)
    for align_corners in (True, False):
        ours = F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        theirs = torch_F.grid_sample(
            x, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners
        )
        torch.testing.assert_close(ours, theirs, equal_nan=True)
    x = x.clone()
    x[0, 0, 0, 0] = math.inf  # a tap outside the input is skipped, not multiplied by 0
    grid = torch.tensor([[1.5, -0.9], [0.0, 0.0]], dtype=torch.float64).view(1, 1, 2, 2)
    ours = F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=False)
    theirs = torch_F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=False)
    torch.testing.assert_close(ours, theirs, equal_nan=True)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_non_finite_grid_points_in_3d_as_torch(mode, padding_mode):
    x = torch.arange(1.0, 61.0, dtype=torch.float64).view(1, 1, 3, 4, 5)
    points = [[math.nan, 0.3, 0.1], [0.3, 0.2, math.nan], [math.inf, 0.3, 0.1], [-math.inf, 0.3, 0.2]]
    grid = torch.tensor(points, dtype=torch.float64).view(1, 1, 1, 4, 3)
    for align_corners in (True, False):
        ours = F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        theirs = torch_F.grid_sample(
            x, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners
        )
        torch.testing.assert_close(ours, theirs, equal_nan=True)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_affine_grid_of_a_half_theta_with_a_unit_output_dim_is_not_implemented(dtype):
    theta = torch.randn(2, 2, 3).to(dtype)
    with pytest.raises(NotImplementedError):
        torch_F.affine_grid(theta, [2, 1, 1, 6], align_corners=False)
    with pytest.raises(NotImplementedError, match=r"^affine_grid: \"tensor_cpu\" not implemented"):
        F.affine_grid(theta, [2, 1, 1, 6], align_corners=False)
    ours, theirs = F.affine_grid(theta, [2, 3, 4, 5], False), torch_F.affine_grid(theta, [2, 3, 4, 5], False)
    assert ours.dtype == theirs.dtype == dtype
