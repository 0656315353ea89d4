"""Samplers and loaders: class-aware sampling (Relay Backpropagation's balanced batches), one global order
shared out to the ranks (:class:`GlobalBatchShard`: N ranks see what one process sees), resuming mid-epoch
(:class:`SkipFirst`), and the DataLoader every verb uses, whose batches are ``(images, targets, skipped)``.
"""

from __future__ import annotations

import contextlib

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset


def collate(batch):
    """Default collation of the readable items, plus how many were skipped."""
    good = [b for b in batch if b is not None]
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), len(batch)
    images, targets = torch.utils.data.default_collate(good)
    return images, targets, len(batch) - len(good)


class ClassAwareSampler(Sampler[int]):
    """Class-aware sampling as Relay Backpropagation defines it (the CVPR version's balanced mini-batches):
    the list of classes is shuffled and walked through, so every class comes once per pass; for each class
    the next image of that class's own shuffled list is taken, reshuffled when exhausted. The order
    depends on (seed, epoch) only; an epoch has as many images as the dataset."""

    def __init__(self, targets, seed: int = 0):
        self.by_class = [torch.tensor(ix) for ix in _group(targets)]
        self.num_samples, self.seed, self.epoch = len(targets), seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        lists = [ix[torch.randperm(len(ix), generator=g)].tolist() for ix in self.by_class]
        pos, out = [0] * len(lists), []
        while len(out) < self.num_samples:
            for c in torch.randperm(len(lists), generator=g).tolist():  # one pass: every class once
                if pos[c] == len(lists[c]):
                    lists[c] = [lists[c][j] for j in torch.randperm(len(lists[c]), generator=g).tolist()]
                    pos[c] = 0
                out.append(lists[c][pos[c]])
                pos[c] += 1
        return iter(out[: self.num_samples])


class GlobalBatchShard(Sampler[int]):
    """This rank's contiguous share of every ``world x micro_batch`` slice of one global order.

    N ranks together see exactly the micro-batches that one process with N times the accumulation steps
    sees (same BatchNorm batches, same averaged gradient), so runs match across world sizes.
    """

    def __init__(self, sampler, micro_batch: int, world: int = 1, rank: int = 0):
        self.sampler, self.micro, self.world, self.rank = sampler, micro_batch, world, rank

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self):
        return len(self.sampler) // (self.micro * self.world) * self.micro

    def __iter__(self):
        order, chunk = list(self.sampler), self.micro * self.world
        for start in range(0, len(order) - chunk + 1, chunk):
            yield from order[start + self.rank * self.micro : start + (self.rank + 1) * self.micro]


def _group(targets) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for i, t in enumerate(targets):
        groups.setdefault(int(t), []).append(i)
    return [groups[k] for k in sorted(groups)]


class SkipFirst(Sampler[int]):
    """The rest of a sampler's epoch after its first ``n`` indices: resuming mid-epoch."""

    def __init__(self, sampler, n: int):
        self.sampler, self.n = sampler, n

    def __len__(self):
        return max(len(self.sampler) - self.n, 0)

    def __iter__(self):
        it = iter(self.sampler)
        for _ in range(self.n):
            next(it, None)
        return it


def train_sampler(dataset, class_balanced: bool, micro_batch: int, world: int, rank: int, seed: int):
    """One global order per (seed, epoch) -- shuffled (DistributedSampler's permutation) or class-balanced --
    shared out to the ranks by :class:`GlobalBatchShard`; the same after a resume and for any world size."""
    from torch.utils.data import DistributedSampler

    if class_balanced:
        order = ClassAwareSampler(dataset.targets, seed)
    else:
        order = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=seed)
    return GlobalBatchShard(order, micro_batch, world, rank)


def eval_subset(dataset, world: int, rank: int) -> Dataset:
    """This rank's share of an evaluation set: every image exactly once over all ranks (no padding)."""
    return Subset(dataset, range(rank, len(dataset), world)) if world > 1 else dataset


def loader(
    dataset,
    batch_size: int,
    sampler=None,
    workers: int = 0,
    pin: bool = False,
    seed: int = 0,
    collate_fn=None,
):
    """A DataLoader with its own generator, so creating it never draws from the global RNG."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        drop_last=sampler is not None,
        num_workers=workers,
        pin_memory=pin,
        collate_fn=collate_fn or collate,
        persistent_workers=False,
        generator=torch.Generator().manual_seed(seed),
        prefetch_factor=4 if workers else None,
        worker_init_fn=_ignore_sigint if workers else None,
    )


def _ignore_sigint(_worker_id: int) -> None:
    """Ctrl-C and a scheduler's SIGTERM reach the whole process group: the main process saves and stops
    the run (and ends its workers), the workers stay quiet."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@contextlib.contextmanager
def batches(loader):
    """The loader's iterator, whose worker processes are shut down when the block is left, however it is
    left (the end, a stop, an error): every loop over a :func:`loader` goes through it. Left to the garbage collector they can outlive the run: an error
    raised in a worker comes back with a traceback whose frames hold the iterator in a reference cycle,
    so the iterator lives until the interpreter exits, where multiprocessing joins workers that ignore
    SIGTERM (:func:`loader`): the process never ends."""
    it = iter(loader)
    try:
        yield it
    finally:
        shutdown = getattr(it, "_shutdown_workers", None)  # torch's multi-process iterator
        if shutdown is not None:
            shutdown()
