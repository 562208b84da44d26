"""The benchmark suite: scratchnn against torch's native kernels, side by side in one process.

A :class:`Case` names an op call twice — ``ours`` (scratchnn) and ``theirs`` (torch) — over the
same inputs. The harness times both, forward and forward+backward, *interleaved* (ours, theirs,
theirs, ours, …) after a warm-up, and reports medians; it measures the peak memory of each in a
fresh subprocess; and it runs the literal form (``scratchnn.contraction("literal")``) too, with
fewer repeats, since that form is not meant to be fast.

Adding cases from your own file: create ``src/scratchnn/bench/cases_<family>.py`` and call
:func:`register` at import time; :func:`all_cases` imports every ``cases*`` module of this
package. ``ours`` may be a dotted name (``"scratchnn.functional.conv_transpose2d"``) resolved
only when the case runs, so a case can be listed before its op exists (it reports *missing*).

>>> import torch
>>> case = Case("tiny linear", "linear", lambda device: (torch.randn(4, 3, device=device),
...             torch.randn(2, 3, device=device)), ours="scratchnn.functional.linear",
...             theirs=torch.nn.functional.linear)
>>> result = time_case(case, repeats=3, warmup=1, literal=False)
>>> sorted(result.times)
['ours f+b', 'ours fwd', 'theirs f+b', 'theirs fwd']
>>> result.ratio("f+b") > 0
True
"""

from .harness import (
    FAMILIES,
    TARGET_FAMILIES,
    Case,
    Result,
    all_cases,
    measure_memory,
    register,
    resolve,
    select,
    time_case,
)
from .report import format_markdown, format_table, plot, summary

__all__ = [
    "FAMILIES",
    "TARGET_FAMILIES",
    "Case",
    "Result",
    "all_cases",
    "format_markdown",
    "format_table",
    "measure_memory",
    "plot",
    "register",
    "resolve",
    "select",
    "summary",
    "time_case",
]
