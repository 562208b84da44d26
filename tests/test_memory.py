"""The literal form stays bounded: conv2d (8, 64, 32, 32) × (64, 64, 3, 3), forward and backward.

The broadcast product alone would take 1.2 GB; chunked under the default 256 MiB budget, the
whole process stays under 1 GB. Measured in a fresh subprocess (peak resident memory).
"""

import subprocess
import sys

import pytest

SCRIPT = """
import resource, torch, scratchnn, scratchnn.functional as F
x = torch.randn(8, 64, 32, 32, requires_grad=True)
w = torch.randn(64, 64, 3, 3, requires_grad=True)
with scratchnn.contraction("literal"):
    out = F.conv2d(x, w, padding=1)
out.sum().backward()
expected = torch.nn.functional.conv2d(x.detach(), w.detach(), padding=1)
assert torch.allclose(out, expected, rtol=1e-4, atol=1e-4)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


@pytest.mark.slow
def test_literal_conv2d_peak_memory_under_1GB():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    peak = int(result.stdout.strip().splitlines()[-1])
    assert peak < 2**30, f"peak resident memory {peak / 2**20:.0f} MiB"
