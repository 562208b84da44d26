"""``import scratchnn.nn as nn`` in place of ``import torch.nn as nn``: an unchanged training script
runs on scratch layers and gives torch's losses."""

from __future__ import annotations

import textwrap

import pytest
import torch

import scratchnn
import scratchnn.nn as snn

# A script as a user writes it: containers, init, parameters, nn.functional, utils, a loss module.
SCRIPT = textwrap.dedent(
    """
    import torch
    import {module} as nn
    import {module}.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2)
            )
            self.blocks = nn.ModuleList([nn.Linear(6 * 4 * 4, 16), nn.Linear(16, 5)])
            self.scale = nn.Parameter(torch.ones(()))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

        def forward(self, x):
            x = self.features(x).flatten(1)
            x = F.gelu(self.blocks[0](x))
            return self.blocks[1](x) * self.scale

    torch.manual_seed(0)
    net = Net().double()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 4])
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    """
)


def run(module: str) -> tuple[list[float], dict]:
    namespace: dict = {}
    exec(compile(SCRIPT.format(module=module), f"<script with {module}>", "exec"), namespace)
    return namespace["losses"], namespace


def test_an_unchanged_script_runs_on_scratch_layers_and_gives_torchs_losses():
    expected, _ = run("torch.nn")
    with scratchnn.mode(strict=True) as mode:  # nothing the scratch script calls may run natively
        losses, namespace = run("scratchnn.nn")
    assert not mode.fallback
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(expected), rtol=1e-12, atol=1e-12)
    layers = [type(m) for m in namespace["net"].modules()]
    assert snn.Conv2d in layers and snn.BatchNorm2d in layers and snn.Linear in layers


@pytest.mark.parametrize(
    "name",
    [
        "Module",
        "Sequential",
        "ModuleList",
        "ModuleDict",
        "ParameterList",
        "ParameterDict",
        "Parameter",
        "Buffer",
        "init",
        "utils",
        "parallel",
        "DataParallel",
    ],
)
def test_the_containers_and_helpers_are_torchs(name):
    assert getattr(snn, name) is getattr(torch.nn, name)


def test_nn_functional_is_scratchnns():
    import scratchnn.nn.functional as F

    assert snn.functional is scratchnn.functional and F is scratchnn.functional


# README, "Deliberately left out": torch's own (re-exported) or not a layer
LEFT_OUT_MODULES = {"CrossMapLRN2d"}
TORCHS_OWN_MODULES = {
    "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Container",
    "DataParallel", "SyncBatchNorm",
}  # fmt: skip
LEFT_OUT_FUNCTIONAL = {
    "scaled_mm", "scaled_grouped_mm", "handle_torch_function", "has_torch_function",
    "has_torch_function_unary", "has_torch_function_variadic", "boolean_dispatch", "assert_int_or_pair",
    "Optional",
}  # fmt: skip


def test_every_torch_nn_module_has_a_twin():
    modules = {
        name
        for name in dir(torch.nn)
        if isinstance(getattr(torch.nn, name), type) and issubclass(getattr(torch.nn, name), torch.nn.Module)
    }
    missing = {name for name in modules if not hasattr(snn, name)}
    assert missing == LEFT_OUT_MODULES
    assert all(getattr(snn, name) is getattr(torch.nn, name) for name in TORCHS_OWN_MODULES)
    twins = modules - LEFT_OUT_MODULES - TORCHS_OWN_MODULES
    assert all(getattr(snn, name) is not getattr(torch.nn, name) for name in twins)


def test_every_public_torch_functional_callable_has_a_twin():
    import torch.nn.functional as torch_F

    public = {name for name in dir(torch_F) if not name.startswith("_") and callable(getattr(torch_F, name))}
    public -= {name for name in public if isinstance(getattr(torch_F, name), type)}
    missing = {name for name in public if name not in scratchnn.functional.__all__}
    assert missing == LEFT_OUT_FUNCTIONAL
