"""torchrun, detected from its environment; DDP and reductions are torch.distributed's (DESIGN.md example 7).

``torchrun --nproc_per_node N [--nnodes M --node_rank K --rdzv_endpoint HOST:PORT] -m senet train ...``
sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; without them the run is a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import SenetError
from .runtime import resolve_device


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def detect() -> DistEnv:
    """The torchrun environment, or a single process."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return DistEnv()
    rank, local, world = (
        _env_int(n, d) for n, d in (("RANK", None), ("LOCAL_RANK", "0"), ("WORLD_SIZE", None))
    )
    if world < 1 or rank >= world:
        raise SenetError(
            f"RANK={rank} with WORLD_SIZE={world}: RANK must be below WORLD_SIZE, which is at least 1; "
            "start the run with torchrun, which sets both"
        )
    return DistEnv(rank, local, world)


def _env_int(name: str, default: str | None) -> int:
    value = os.environ.get(name, default).strip()
    if not value.isdigit():
        raise SenetError(
            f"{name}={value!r} is not a non-negative integer; start the run with torchrun, which sets it, "
            "or unset RANK and WORLD_SIZE"
        )
    return int(value)


def device_for(env: DistEnv, requested: str | None) -> torch.device:
    """cuda:LOCAL_RANK under torchrun on GPUs, else the requested device (default: cuda if available)."""
    name = requested or ("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda":  # one GPU per process: this rank's (cuda:0 without torchrun)
        name = f"cuda:{env.local_rank}"
    device = resolve_device(name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def setup(env: DistEnv, device: torch.device) -> None:
    """Join the process group: NCCL on GPUs, gloo on CPUs (torchrun provides the rendezvous)."""
    if env.enabled and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def teardown(env: DistEnv) -> None:
    if env.enabled and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, env: DistEnv, device: torch.device, sync_bn: bool) -> torch.nn.Module:
    """DistributedDataParallel (with SyncBatchNorm if asked) under torchrun; the model itself otherwise."""
    if not env.enabled:
        return model
    if sync_bn and device.type == "cpu":
        raise SenetError("--sync-bn needs GPUs (torch's SyncBatchNorm does not run on CPU)")
    if sync_bn:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over all ranks (in place); a no-op in a single process."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if ``flag`` is true on any (a stop request must stop all ranks together)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    return bool(all_reduce_sum(torch.tensor([float(flag)], device=device)).item() > 0)


def gather(obj) -> list:
    """Every rank's ``obj``, by rank, on every rank (``[obj]`` in a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
