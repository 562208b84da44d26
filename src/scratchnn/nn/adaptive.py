"""``AdaptiveLogSoftmaxWithLoss``: a softmax over many classes, split by frequency (Grave et al.,
"Efficient softmax approximation for GPUs").

Legend: n batch, i input features, c classes, k clusters.

The head scores the shortlist (classes below ``cutoffs[0]``) and one entry per tail cluster; each
tail cluster j scores its own classes through a narrower projection (i → i / div_value^(j+1)).
The log-probability of a class is

    shortlist class y:     log softmax(head(x))_y
    class y of cluster j:  log softmax(head(x))_{shortlist + j} + log softmax(tail_j(x))_{y − cutoff_j}

and the loss is the mean of −log p(target). Here every cluster is scored for every sample (the
full (n, c) log-probability, then a gather): the formula as written, with torch's values and
gradients; torch scores each cluster only for the samples whose target falls in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.modules.adaptive import _ASMoutput

from .. import functional as F
from .._args import fail
from ..functional.loss import found
from .linear import Linear

__all__ = ["AdaptiveLogSoftmaxWithLoss"]


class AdaptiveLogSoftmaxWithLoss(nn.Module):
    """torch.nn.AdaptiveLogSoftmaxWithLoss from scratch: ``head`` Linear (i → shortlist + k), ``tail``
    ModuleList of k Sequential(Linear(i → h_j), Linear(h_j → cluster size)), no tail biases.

    forward(input (n, i) or (i,), target (n,) or ()) → (output: log p(target) (n,) or (), loss ())

    >>> asm = AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[3, 6], div_value=2.0)
    >>> x, y = torch.randn(4, 8), torch.tensor([0, 4, 9, 2])
    >>> out = asm(x, y)
    >>> out.output.shape, torch.allclose(out.output, asm.log_prob(x).gather(1, y[:, None]).squeeze(1))
    (torch.Size([4]), True)
    """

    in_features: int
    n_classes: int
    cutoffs: list[int]
    div_value: float
    head_bias: bool

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        name = "AdaptiveLogSoftmaxWithLoss"
        if len(cutoffs) == 0:
            raise ValueError(f"{name}: cutoffs should be a sequence of length larger than 0")
        if (
            cutoffs != sorted(cutoffs)
            or min(cutoffs) <= 0
            or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs)
            or any(int(c) != c for c in cutoffs)
        ):
            raise ValueError(
                f"{name}: cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                f"order, where each value is between 1 and n_classes-1, got cutoffs={cutoffs} for "
                f"n_classes={n_classes}"
            )
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [*cutoffs, n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = nn.ModuleList()
        for j in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (j + 1)))
            size = self.cutoffs[j + 1] - self.cutoffs[j]
            project = Linear(in_features, hidden, bias=False, device=device, dtype=dtype)  # i → h_j
            score = Linear(hidden, size, bias=False, device=device, dtype=dtype)  # h_j → cluster size
            self.tail.append(nn.Sequential(project, score))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for linear in projection.children():
                linear.reset_parameters()  # type: ignore[operator]

    def log_prob(self, input: torch.Tensor) -> torch.Tensor:
        """log p of every class: input (n, i) → (n, c)."""
        head = F.log_softmax(self.head(input), dim=1)  # n (shortlist + k)
        parts = [head[:, : self.shortlist_size]]
        for j, projection in enumerate(self.tail):
            cluster = F.log_softmax(projection(input), dim=1)  # n size_j
            parts.append(cluster + head[:, self.shortlist_size + j].unsqueeze(1))
        return torch.cat(parts, dim=1)

    def predict(self, input: torch.Tensor) -> torch.Tensor:
        """The most likely class of each sample: input (n, i) → (n,)."""
        return torch.argmax(self.log_prob(input), dim=1)

    def forward(self, input_: torch.Tensor, target_: torch.Tensor) -> _ASMoutput:
        name = "AdaptiveLogSoftmaxWithLoss"
        shapes = {"input": ("n i", input_.shape), "target": ("n", target_.shape)}
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise fail(
                    RuntimeError,
                    name,
                    "Input and target should have the same size in the batch dimension.",
                    shapes,
                )
            if input_.ndim != 2:
                raise fail(
                    RuntimeError,
                    name,
                    f"1D target tensor expects 2D input tensors, but found inputs with size {input_.size()}",
                    shapes,
                )
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise fail(
                    RuntimeError,
                    name,
                    f"0D target tensor expects 1D input tensors, but found inputs with size {input_.size()}",
                    shapes,
                )
        else:
            raise fail(
                RuntimeError, name, "0D or 1D target tensor expected, multi-target not supported", shapes
            )
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)  # n i
        target = target_ if batched else target_.unsqueeze(0)  # n
        if found((target < 0) | (target >= self.n_classes)):
            raise RuntimeError(
                f"{name}: Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{target.min().item()}, {target.max().item()}] were found. "
            )
        output = self.log_prob(input).gather(1, target.unsqueeze(1)).squeeze(1)  # n: log p(target)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)
