"""Grayscale morphology against scipy.ndimage (values) and the literal max/min form (gradients).

scipy.ndimage is the reference for the conventions (reflected element in dilation, centre k // 2,
even sizes, ``mode="constant", cval=border_value``); it has no gradients, so gradients are checked
against the literal form written here with torch only, whose autograd splits ties equally.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch

ndimage = pytest.importorskip("scipy.ndimage")

OPS = {
    "dilation2d": (F.dilation2d, ndimage.grey_dilation),
    "erosion2d": (F.erosion2d, ndimage.grey_erosion),
    "opening2d": (F.opening2d, ndimage.grey_opening),
    "closing2d": (F.closing2d, ndimage.grey_closing),
    "gradient2d": (F.gradient2d, ndimage.morphological_gradient),
    "tophat2d": (F.tophat2d, ndimage.white_tophat),
}


def literal_dilation(x, offsets, border_value=None):
    """max over the reflected element, straight from the formula: pad, unfold, add, amax.
    x (b, c, H, W), offsets (c or 1, kh, kw) with −inf off the footprint."""
    kh, kw = offsets.shape[-2:]
    ch, cw = kh // 2, kw // 2
    value = -math.inf if border_value is None else border_value
    padded = torch_F.pad(x, (kw - 1 - cw, cw, kh - 1 - ch, ch), value=value)
    windows = padded.unfold(2, kh, 1).unfold(3, kw, 1)  # b c H W kh kw
    return (windows + offsets.flip(-2, -1)[:, None, None]).amax((-2, -1))


def literal_erosion(x, offsets, border_value=None):
    kh, kw = offsets.shape[-2:]
    ch, cw = kh // 2, kw // 2
    value = math.inf if border_value is None else border_value
    padded = torch_F.pad(x, (cw, kw - 1 - cw, ch, kh - 1 - ch), value=value)
    windows = padded.unfold(2, kh, 1).unfold(3, kw, 1)
    return (windows - offsets[:, None, None]).amin((-2, -1))


@st.composite
def cases(draw):
    """An image (integer values: ties), an element given as size, footprint, structure or both,
    a border (ignored or a constant), batched or not, one element for all channels or one each."""
    channels = draw(st.integers(1, 2))
    height, width = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["size", "footprint", "structure", "both"]))
    per_channel = kind != "size" and draw(st.booleans())
    batched = draw(st.booleans())
    border = draw(st.sampled_from([None, 0.0, -1.0, 3.0]))
    seed = draw(st.integers(0, 2**16))
    return channels, (height, width), (kh, kw), kind, per_channel, batched, border, seed


def make(case):
    channels, (height, width), (kh, kw), kind, per_channel, batched, border, seed = case
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 4, (2 if batched else 1, channels, height, width)).astype(np.float64)
    element_shape = (channels, kh, kw) if per_channel else (kh, kw)
    footprint = rng.random(element_shape) < 0.7
    footprint[..., 0, 0] = True
    structure = rng.integers(-2, 3, element_shape).astype(np.float64)
    theirs = {}
    if kind == "size":
        theirs["size"] = (kh, kw)
    if kind in ("footprint", "both"):
        theirs["footprint"] = footprint
    if kind in ("structure", "both"):
        theirs["structure"] = structure
    ours = {name: value if name == "size" else torch.tensor(value) for name, value in theirs.items()}
    return image, ours, theirs, per_channel, batched, border


def scipy_reference(name, image, theirs, per_channel, border):
    """scipy per (batch, channel) image; border None = ignore (±inf per step, as each step ignores)."""
    function = OPS[name][1]
    out = np.empty_like(image)
    for b in range(image.shape[0]):
        for c in range(image.shape[1]):
            element = {k: (v[c] if per_channel else v) for k, v in theirs.items() if k != "size"}
            if "size" in theirs:
                element["size"] = theirs["size"]
            out[b, c] = scipy_one(name, function, image[b, c], element, border)
    return out


def scipy_one(name, function, image, element, border):
    if border is not None:
        return function(image, **element, mode="constant", cval=border)

    def dilate(x):
        return ndimage.grey_dilation(x, **element, mode="constant", cval=-np.inf)

    def erode(x):
        return ndimage.grey_erosion(x, **element, mode="constant", cval=np.inf)

    steps = {
        "dilation2d": dilate,
        "erosion2d": erode,
        "opening2d": lambda x: dilate(erode(x)),
        "closing2d": lambda x: erode(dilate(x)),
        "gradient2d": lambda x: dilate(x) - erode(x),
        "tophat2d": lambda x: x - dilate(erode(x)),
    }
    return steps[name](image)


@pytest.mark.parametrize("name", sorted(OPS))
@given(case=cases())
def test_matches_scipy(name, case):
    image, ours, theirs, per_channel, batched, border = make(case)
    x = torch.tensor(image) if batched else torch.tensor(image[0])
    out = OPS[name][0](x, **ours, border_value=border)
    expected = scipy_reference(name, image, theirs, per_channel, border)
    assert_close(out, torch.tensor(expected if batched else expected[0]))


def offsets_of(ours, channels):
    """The element as offsets (c or 1, kh, kw), −inf off the footprint: the literal form's input."""
    if "size" in ours:
        return torch.zeros(1, *ours["size"], dtype=torch.float64)
    structure = ours.get("structure")
    footprint = ours.get("footprint")
    shape = (footprint if structure is None else structure).shape
    offsets = torch.zeros(shape, dtype=torch.float64) if structure is None else structure
    if footprint is not None:
        offsets = torch.where(footprint, offsets, -math.inf)
    return offsets if offsets.ndim == 3 else offsets[None]


@pytest.mark.parametrize("dilate", [True, False], ids=["dilation", "erosion"])
@given(case=cases())
def test_gradients_match_the_literal_form_with_ties(dilate, case):
    image, ours, _, _, _, border = make(case)
    x = torch.tensor(image)
    structure = ours.get("structure")
    op = F.dilation2d if dilate else F.erosion2d
    literal = literal_dilation if dilate else literal_erosion
    if structure is None:  # flat: the separable path; only the image has a gradient
        assert_matches_torch(
            lambda x: op(x, **ours, border_value=border),
            lambda x: literal(x, offsets_of(ours, x.shape[1]), border),
            x,
        )
        return
    footprint = ours.get("footprint")

    def mine(x, structure):
        return op(x, footprint=footprint, structure=structure, border_value=border)

    def reference(x, structure):
        return literal(x, offsets_of(dict(structure=structure, footprint=footprint), x.shape[1]), border)

    assert_matches_torch(mine, reference, x, structure)


@pytest.mark.parametrize("kernel", [1, 3, 5, 9])
def test_flat_elements_are_max_pooling(kernel):
    """Continuous data (no ties): dilation = max_pool2d(stride 1, same padding), erosion = −max_pool2d(−x)."""
    x = torch.randn(2, 3, 12, 11, dtype=torch.float64)
    assert_matches_torch(
        lambda x: F.dilation2d(x, size=kernel),
        lambda x: torch_F.max_pool2d(x, kernel, stride=1, padding=kernel // 2),
        x,
    )
    assert_matches_torch(
        lambda x: F.erosion2d(x, size=kernel),
        lambda x: -torch_F.max_pool2d(-x, kernel, stride=1, padding=kernel // 2),
        x,
    )


def test_large_flat_element_is_lean():
    """A 31×31 flat element takes the separable path: exact against max_pool, in a blink."""
    x = torch.randn(1, 1, 96, 80, dtype=torch.float64)
    assert_matches_torch(
        lambda x: F.dilation2d(x, size=31), lambda x: torch_F.max_pool2d(x, 31, stride=1, padding=15), x
    )


def test_float32():
    x = torch.randn(2, 3, 9, 9)
    structure = torch.randn(3, 3, 3)
    assert_matches_torch(
        lambda x, s: F.dilation2d(x, structure=s), lambda x, s: literal_dilation(x, s), x, structure
    )
    assert_matches_torch(
        lambda x, s: F.erosion2d(x, structure=s), lambda x, s: literal_erosion(x, s), x, structure
    )


def test_adjoint_identities():
    """erosion(x, s) = −dilation(−x, reflected s) for odd sizes; opening ≤ x ≤ closing."""
    x = torch.randint(0, 5, (2, 2, 8, 9)).double()
    structure = torch.randint(-2, 3, (3, 5)).double()
    assert_close(F.erosion2d(x, structure=structure), -F.dilation2d(-x, structure=structure.flip(0, 1)))
    assert bool((F.opening2d(x, structure=structure) <= x).all())
    assert bool((F.closing2d(x, structure=structure) >= x).all())


# ---------------------------------------------------------------------------------------------
# Modules


@pytest.mark.parametrize(
    "module, op, literal",
    [
        (scratchnn.nn.MorphologicalDilation2d, F.dilation2d, literal_dilation),
        (scratchnn.nn.MorphologicalErosion2d, F.erosion2d, literal_erosion),
    ],
)
def test_modules_learn_their_structuring_element(module, op, literal):
    layer = module(3, (3, 5), dtype=torch.float64)
    assert set(layer.state_dict()) == {"weight"} and layer.weight.shape == (3, 3, 5)
    assert not layer.weight.any()  # flat at first: a max (min) filter
    with torch.no_grad():
        layer.weight.normal_()
    x = torch.randint(0, 4, (2, 3, 7, 8)).double()
    assert_matches_torch(lambda x, s: op(x, structure=s), lambda x, s: literal(x, s), x, layer.weight)
    out = layer(x)
    assert_close(out, op(x, structure=layer.weight))
    out.sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.shape == (3, 3, 5)
    twin = module(3, (3, 5), border_value=0.0, dtype=torch.float64)
    twin.load_state_dict(layer.state_dict())
    assert_close(twin(x), literal(x, layer.weight.detach(), 0.0))
    assert repr(twin) == f"{module.__name__}(3, kernel_size=(3, 5), border_value=0.0)"


def test_module_errors():
    with pytest.raises(
        ValueError, match="MorphologicalDilation2d: channels must be a positive integer, got channels=0"
    ):
        scratchnn.nn.MorphologicalDilation2d(0, 3)
    with pytest.raises(
        ValueError, match=r"MorphologicalErosion2d: kernel_size must be positive, got kernel_size=\(0, 3\)"
    ):
        scratchnn.nn.MorphologicalErosion2d(2, (0, 3))
    with pytest.raises(TypeError, match="border_value must be a number or None, got border_value='edge'"):
        scratchnn.nn.MorphologicalErosion2d(2, 3, border_value="edge")


# ---------------------------------------------------------------------------------------------
# Errors


def test_errors():
    x = torch.randn(1, 2, 6, 6)
    with pytest.raises(ValueError, match="dilation2d: give the element: size=, footprint= or structure="):
        F.dilation2d(x)
    with pytest.raises(
        ValueError, match="erosion2d: give either size, or footprint and/or structure, not both"
    ):
        F.erosion2d(x, size=3, footprint=torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"dilation2d: size must be positive, got size=\(0, 3\)"):
        F.dilation2d(x, size=(0, 3))
    with pytest.raises(
        ValueError, match=r"dilation2d: footprint must be \(kh, kw\) or \(c, kh, kw\) with c = 2"
    ):
        F.dilation2d(x, footprint=torch.ones(3, 3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="footprint must contain at least one True element"):
        F.opening2d(x, footprint=torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"footprint and structure must have the same \(kh, kw\)"):
        F.closing2d(x, footprint=torch.ones(3, 3, dtype=torch.bool), structure=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="structure must not be empty"):
        F.dilation2d(x, structure=torch.zeros(0, 3))
    with pytest.raises(TypeError, match="dilation2d: footprint must be a tensor, got ndarray"):
        F.dilation2d(x, footprint=np.ones((3, 3), dtype=bool))
    with pytest.raises(RuntimeError, match="gradient2d: expected the same dtype for input, structure"):
        F.gradient2d(x, structure=torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match=r"tophat2d: input must be 3-D or 4-D \(unbatched \(c, H, W\)"):
        F.tophat2d(torch.randn(6, 6), size=3)
    with pytest.raises(
        RuntimeError, match=r"dilation2d: not implemented for torch\.uint8 input \(floating point only\)"
    ):
        F.dilation2d(torch.zeros(1, 6, 6, dtype=torch.uint8), size=3)
    with pytest.raises(TypeError, match="border_value must be a number or None, got border_value='reflect'"):
        F.dilation2d(x, size=3, border_value="reflect")


def test_missing_taps_absorb_infinite_pixels():
    """Off-footprint taps are −inf (dilation) / +inf (erosion) weights; an infinite pixel of the
    other sign meets them as a missing tap, not as NaN (scipy skips those taps)."""
    image = np.array([[0.0, np.inf, 1.0, -np.inf], [2.0, 0.0, np.inf, 3.0]])
    footprint = np.array([[True, False, True]])
    x = torch.tensor(image)[None]
    for op, function in [(F.dilation2d, ndimage.grey_dilation), (F.erosion2d, ndimage.grey_erosion)]:
        out = op(x, footprint=torch.tensor(footprint), border_value=0.0)
        assert_close(out[0], torch.tensor(function(image, footprint=footprint, mode="constant", cval=0.0)))
    # an off-centre element on a 1-pixel image: the erosion sees nothing (+inf), the dilation too (−inf)
    opened = F.opening2d(torch.ones(1, 1, 1, dtype=torch.float64), footprint=torch.tensor([[True, False]]))
    assert opened.item() == -math.inf
