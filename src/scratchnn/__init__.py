"""scratchnn: PyTorch layers rebuilt from sliding windows, einops and multiply-and-sum.

``scratchnn.functional`` and ``scratchnn.nn`` are drop-in twins of ``torch.nn.functional`` and
``torch.nn``. ``scratchnn.settings(form="literal")`` makes every op compute its formula as written
— window views contracted in the cheatsheet's broadcast-multiply-and-sum form, chunked under a
memory budget — and :func:`settings` chooses the rest (algorithms, tiles, chunk sizes) too.
"""

from . import functional, nn
from ._contract import contraction, current_budget, current_form
from ._settings import FORMS, Settings, current_settings, settings
from .compare import compare
from .convert import convert
from .explain import explain
from .mode import NativeFallbackError, mode

__version__ = "0.1.0"

__all__ = [
    "FORMS",
    "NativeFallbackError",
    "Settings",
    "compare",
    "contraction",
    "convert",
    "current_budget",
    "current_form",
    "current_settings",
    "explain",
    "functional",
    "mode",
    "nn",
    "settings",
]
