"""DistributedDataParallel (gloo, 2 processes on 127.0.0.1) trains a converted model to the same
weights as single-process training on the same global batches (examples/ddp_train.py)."""

import sys
from pathlib import Path

import torch
import torch.distributed as dist

import scratchnn.nn as snn

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))  # spawned workers inherit sys.path
import ddp_train


def test_the_example_model_is_on_scratch_layers():
    model = ddp_train.make_model()
    assert {type(m) for m in model.children()} >= {
        snn.Conv2d,
        snn.GroupNorm,
        snn.ReLU,
        snn.MaxPool2d,
        snn.Linear,
    }


def test_ddp_weights_equal_single_process_training():
    assert dist.is_available() and dist.is_gloo_available(), "torch.distributed with gloo is required"
    steps = 6
    distributed = ddp_train.train_distributed(world_size=2, steps=steps, timeout=55)
    single = ddp_train.train_single(steps=steps)
    initial = ddp_train.make_model().state_dict()
    assert list(distributed["state_dict"]) == list(single["state_dict"])
    for name, weight in single["state_dict"].items():
        torch.testing.assert_close(distributed["state_dict"][name], weight, rtol=1e-10, atol=1e-12)
        assert not torch.equal(weight, initial[name]), f"{name} did not train"
    assert len(distributed["losses"]) == steps
