"""The one N-d sliding-window view that every windowed op uses.

``sliding_windows(x, kernel_size, stride, padding, dilation)`` pads the last N dims of ``x``
and returns a *view* with one axis per output position and one per kernel offset::

    x (b, c, H, W)  →  windows (b, c, h, w, kh, kw)
    windows[..., i, j, p, q] == x_padded[..., i·sh + p·dh, j·sw + q·dw]

Each spatial dim is ``Tensor.unfold``-ed over the dilated kernel span ``d·(k-1)+1`` with step
``stride``, then every ``d``-th element of the span is kept. No data is copied (beyond the padding),
and autograd's backward of ``unfold`` is an overlap-add.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    windows = x
    first = x.ndim - n
    for i, (k, s, d) in enumerate(zip(kernel_size, stride, dilation)):
        windows = windows.unfold(first + i, d * (k - 1) + 1, s)
    if any(d > 1 for d in dilation):
        every_dth: tuple[Any, ...] = (..., *(slice(None, None, d) for d in dilation))
        windows = windows[every_dth]
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


def _window_bindings(windows: torch.Tensor, n: int) -> dict[str, int]:
    """The legend letters of the output positions and kernel offsets, bound to their sizes."""
    out_names, kernel_names = spatial_legend(n)
    sizes = windows.shape[windows.ndim - 2 * n :]
    return dict(zip([*out_names, *kernel_names], (int(size) for size in sizes)))
