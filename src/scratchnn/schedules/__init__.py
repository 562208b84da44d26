"""The schedules: how the fast form computes each family's formula.

A family's file in ``scratchnn/functional/`` holds its formula — the window view, the
rearranges, the contraction, as the cheatsheet writes it — and dispatches here, one visible
call away. A schedule computes the same sums in another order (GEMMs over a flat layout, tiles,
blocks, separable passes), states that sum in its docstring, and, where it needs the formula
(double backward), is handed it as a function: nothing here imports ``functional``'s families.

==============  ==================================================================
``cross_entropy``  cross_entropy of class indices: one softmax buffer, a closed-form backward
``conv``        convolutions and transposed convolutions as GEMMs (``flat``: their layout)
``dilation``    dilated convolutions as dense ones on the dilation phases (space-to-batch)
``pooling``     max over shifted slices, window sums in separable passes
``attention``   blocked attention: tiles, online softmax, a recomputing backward
``semiring``    semiring convolutions in bounded blocks; separable flat max/min filters
==============  ==================================================================
"""

from . import attention, conv, conv_sums, cross_entropy, dilation, flat, flat_filter, pooling, semiring

__all__ = [
    "attention",
    "conv",
    "conv_sums",
    "cross_entropy",
    "dilation",
    "flat",
    "flat_filter",
    "pooling",
    "semiring",
]
