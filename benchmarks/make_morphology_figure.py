"""Make ``docs/morphology.png``: a photograph, its grayscale dilation and its erosion.

The image is scikit-learn's bundled ``china.jpg`` (no download), in grayscale; the element is a
flat disk of radius 4 (a 9×9 boolean footprint), borders ignored. Dilation spreads the bright
pixels (max over the reflected disk), erosion the dark ones (min over the disk).

    .venv/bin/python benchmarks/make_morphology_figure.py [output.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_sample_image

from scratchnn.functional import dilation2d, erosion2d

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "morphology.png"


def disk(radius: int) -> torch.Tensor:
    """A boolean (2r+1, 2r+1) disk footprint."""
    offsets = torch.arange(-radius, radius + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2


def main(output: Path = OUTPUT) -> Path:
    rgb = torch.tensor(load_sample_image("china.jpg"), dtype=torch.float32) / 255  # H W 3
    gray = (rgb @ torch.tensor([0.299, 0.587, 0.114]))[None, None]  # 1 1 H W
    footprint = disk(4)
    panels = {
        "image": gray,
        "dilation2d (disk r=4)": dilation2d(gray, footprint=footprint),
        "erosion2d (disk r=4)": erosion2d(gray, footprint=footprint),
    }
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.3), constrained_layout=True)
    for axis, (title, image) in zip(axes, panels.items()):
        axis.imshow(image[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axis.set_title(title)
        axis.axis("off")
    figure.suptitle("scratchnn.functional grayscale morphology: max-plus / min-plus convolutions")
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=100)
    return output


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
