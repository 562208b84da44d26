"""Train a model on scratch layers with torch's own distributed engine.

A small CNN is converted with ``scratchnn.convert`` and trained with
``torch.nn.parallel.DistributedDataParallel`` on the ``gloo`` backend: 2 processes (started with
``torch.multiprocessing``) that meet through a file store and exchange gradients over 127.0.0.1
only, each taking half of every global batch. DDP averages the gradients of the two halves,
which is the gradient of the mean loss over the whole batch, so the final weights equal
single-process training on the same global batches (float64, up to rounding)::

    python examples/ddp_train.py
"""

from __future__ import annotations

import faulthandler
import os
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as torch_F
from torch import nn

import scratchnn

STEPS, GLOBAL_BATCH, LR = 10, 8, 0.1


def make_model() -> nn.Module:
    """The same initial weights in every process; every layer converted to its scratch twin."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.GroupNorm(2, 8),  # per-sample statistics: the same whether the batch is split or not
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10),
    ).double()
    converted, report = scratchnn.convert(model)
    if not report.ok:
        raise RuntimeError(f"layers left native:\n{report}")
    return converted


def batches(steps: int = STEPS, size: int = GLOBAL_BATCH) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(size, 3, 8, 8, generator=generator, dtype=torch.float64),
            torch.randint(0, 10, (size,), generator=generator),
        )
        for _ in range(steps)
    ]


def train(model: nn.Module, data, rank: int = 0, world_size: int = 1) -> list[float]:
    """SGD with momentum; each process takes its slice of every global batch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    losses = []
    for x, target in data:
        share = x.shape[0] // world_size
        mine = slice(rank * share, (rank + 1) * share)
        loss = torch_F.cross_entropy(model(x[mine]), target[mine])
        optimizer.zero_grad()
        loss.backward()  # DDP all-reduces (averages) the gradients here
        optimizer.step()
        losses.append(loss.item())
    return losses


def worker(rank: int, world_size: int, steps: int, directory: str, timeout: float) -> None:
    os.environ["GLOO_SOCKET_IFNAME"] = loopback_interface()  # gloo's sockets listen on 127.0.0.1 only
    torch.set_num_threads(1)
    with open(Path(directory) / f"stacks{rank}.txt", "w") as stacks:
        faulthandler.dump_traceback_later(timeout, file=stacks)  # where a hung worker is, for the error
        dist.init_process_group(
            "gloo",
            store=dist.FileStore(str(Path(directory) / "store"), world_size),  # no listening socket
            rank=rank,
            world_size=world_size,
            timeout=timedelta(seconds=timeout),
        )
        try:
            model = torch.nn.parallel.DistributedDataParallel(make_model())
            losses = train(model, batches(steps), rank, world_size)
            if rank == 0:
                result = {"state_dict": model.module.state_dict(), "losses": losses}
                torch.save(result, Path(directory) / "rank0.pt")
            # Drop DDP while the group is still registered: if its reducer held the group's last
            # reference, it would join gloo's threads holding the GIL, which they may need (deadlock).
            del model
        finally:
            dist.destroy_process_group()
            faulthandler.cancel_dump_traceback_later()


def loopback_interface() -> str:
    """The interface that holds 127.0.0.1 (``lo`` on Linux, ``lo0`` on macOS)."""
    names = [name for _, name in socket.if_nameindex()]
    return "lo" if "lo" in names else next((n for n in names if n.startswith("lo")), "lo")


def train_distributed(world_size: int = 2, steps: int = STEPS, timeout: float = 50.0) -> dict:
    """Run ``world_size`` DDP processes; rank 0's final state_dict and its local losses.

    A worker that fails raises its error here; workers that have not finished after ``timeout`` s
    are killed and ``TimeoutError`` shows where each one was.
    """
    with tempfile.TemporaryDirectory() as directory:
        context = mp.start_processes(
            worker,
            args=(world_size, steps, directory, timeout / 2),
            nprocs=world_size,
            join=False,
            start_method="spawn",
        )
        deadline = time.monotonic() + timeout
        while not context.join(timeout=1):
            if time.monotonic() > deadline:
                for process in context.processes:
                    process.kill()
                stacks = "\n".join(p.read_text() for p in sorted(Path(directory).glob("stacks*.txt")))
                raise TimeoutError(f"DDP workers did not finish within {timeout} s; their stacks:\n{stacks}")
        return torch.load(Path(directory) / "rank0.pt", weights_only=True)


def train_single(steps: int = STEPS) -> dict:
    model = make_model()
    losses = train(model, batches(steps))
    return {"state_dict": model.state_dict(), "losses": losses}


def main() -> int:
    start = time.perf_counter()
    distributed, single = train_distributed(), train_single()
    difference = max(
        (distributed["state_dict"][k] - v).abs().max().item() for k, v in single["state_dict"].items()
    )
    seconds = time.perf_counter() - start
    print(f"DDP (2 processes, gloo over 127.0.0.1) vs 1 process, {STEPS} steps:")
    print(f"final loss {single['losses'][-1]:.4f}, max weight difference {difference:.1e} ({seconds:.1f} s)")
    return 0 if difference < 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
