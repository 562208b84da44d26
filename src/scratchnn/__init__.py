"""scratchnn: PyTorch layers rebuilt from sliding windows, einops and multiply-and-sum.

``scratchnn.functional`` and ``scratchnn.nn`` are drop-in twins of ``torch.nn.functional`` and
``torch.nn``. ``scratchnn.contraction("literal")`` switches every contraction to the
cheatsheet's broadcast-multiply-and-sum form (chunked under a memory budget).
"""

from . import functional, nn
from ._contract import FORMS, contraction, current_budget, current_form
from .compare import compare
from .convert import convert
from .explain import explain
from .mode import mode

__version__ = "0.1.0"

__all__ = [
    "FORMS",
    "compare",
    "contraction",
    "convert",
    "current_budget",
    "current_form",
    "explain",
    "functional",
    "mode",
    "nn",
]
