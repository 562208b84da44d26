"""The one N-d sliding-window view that every windowed op uses.

``sliding_windows(x, kernel_size, stride, padding, dilation)`` pads the last N dims of ``x``
and returns a *view* with one axis per output position and one per kernel offset::

    x (b, c, H, W)  →  windows (b, c, h, w, kh, kw)
    windows[..., i, j, p, q] == x_padded[..., i·sh + p·dh, j·sw + q·dw]

Without dilation each spatial dim is ``Tensor.unfold``-ed (whose backward is an overlap-add); with
dilation, one ``as_strided`` view steps by ``stride`` between windows and by ``dilation`` within
one. No data is copied (beyond the padding).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._args import spatial_legend
from ._trace import is_recording, record
from .functional.padding import pad as pad_fn

__all__ = ["output_size", "same_padding", "sliding_windows"]


def output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool = False
) -> int:
    """Number of window positions along one dim; ``padding`` is the total of both sides.

    >>> output_size(8, 3, 2, 2, 1)
    4
    """
    span = dilation * (kernel - 1) + 1
    room = size + padding - span
    if ceil_mode:
        return -(-room // stride) + 1
    return room // stride + 1


def same_padding(kernel_size: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    """Per-dim (before, after) padding that keeps the size at stride 1.

    An even span pads one more after than before, as torch does.

    >>> same_padding((4, 3), (1, 2))
    [(1, 2), (2, 2)]
    """
    pairs = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        pairs.append((total // 2, total - total // 2))
    return pairs


def sliding_windows(
    x: torch.Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[tuple[int, int]] | None = None,
    dilation: Sequence[int] | None = None,
    *,
    mode: str = "constant",
    value: float = 0.0,
) -> torch.Tensor:
    """View the last ``len(kernel_size)`` dims of ``x`` as windows.

    ``padding`` is one (before, after) pair per spatial dim, first dim first; the padding itself
    uses ``pad`` with ``mode`` and ``value`` (``-inf`` for max pooling, for instance).

    >>> x = torch.arange(5.).view(1, 1, 5)
    >>> sliding_windows(x, (2,), (1,), [(0, 0)], (2,))[0, 0]
    tensor([[0., 2.],
            [1., 3.],
            [2., 4.]])
    """
    n = len(kernel_size)
    dilation = tuple(dilation or (1,) * n)
    if padding is not None and any(before or after for before, after in padding):
        flat = [amount for before_after in reversed(list(padding)) for amount in before_after]
        x = pad_fn(x, flat, mode=mode, value=value if mode == "constant" else None)
    first = x.ndim - n
    if all(d == 1 for d in dilation):
        windows = x
        for i, (k, s) in enumerate(zip(kernel_size, stride)):
            windows = windows.unfold(first + i, k, s)
    else:
        windows = _dilated_windows(x, first, kernel_size, stride, dilation)
    if is_recording():
        record(
            "windows",
            f"windows of kernel {tuple(kernel_size)}, stride {tuple(stride)}, dilation {dilation}",
            [x],
            windows,
            bindings=_window_bindings(windows, n),
            note="a view: no copy",
        )
    return windows


def _dilated_windows(
    x: torch.Tensor, first: int, kernel_size: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
) -> torch.Tensor:
    """One strided view: output step ``stride``, kernel step ``dilation``, along each spatial dim.

    (Unfolding the whole dilated span and keeping every d-th offset gives the same values, but its
    backward materializes gradients for the skipped offsets too: d times the work.)
    """
    spatial_strides = x.stride()[first:]
    out_sizes = [
        output_size(size, k, s, 0, d) for size, k, s, d in zip(x.shape[first:], kernel_size, stride, dilation)
    ]
    return x.as_strided(
        (*x.shape[:first], *out_sizes, *kernel_size),
        (
            *x.stride()[:first],
            *(step * s for step, s in zip(spatial_strides, stride)),
            *(step * d for step, d in zip(spatial_strides, dilation)),
        ),
    )  # no storage_offset argument: x's own (torch.compile cannot trace x.storage_offset())


def _window_bindings(windows: torch.Tensor, n: int) -> dict[str, int]:
    """The legend letters of the output positions and kernel offsets, bound to their sizes."""
    out_names, kernel_names = spatial_legend(n)
    sizes = windows.shape[windows.ndim - 2 * n :]
    return dict(zip([*out_names, *kernel_names], (int(size) for size in sizes)))
