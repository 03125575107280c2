"""Section 2 — data loading: images/s of the course's PNG+CSV loaders (`get_dataloaders`) plain, with 2 workers and
with the in-memory cache from epoch 2, and of the same images as in-memory tensors (`get_dls`)."""
from __future__ import annotations

import torch

from exp.nb_05 import Dataset, get_dataloaders, get_dls
from bench.timing import Row, Section, Target, interleaved, rate, ratios


def one_pass(loaders) -> None:
    "Read every batch of every loader once."
    for dl in loaders:
        for _ in dl: pass


def as_tensors(loaders):
    "All images and labels of the loaders' data sets, decoded once, as two tensors."
    items = [ds[i] for ds in (dl.dataset for dl in loaders) for i in range(len(ds))]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


def loading_section(repeats: int = 5, batch_size: int = 64, min_time: float = 0.3, root=None) -> Section:
    "Images/s of each way of loading the PNG digits (train, valid and test splits), measured side by side `repeats` times."
    plain = get_dataloaders(batch_size, root=root)
    workers = get_dataloaders(batch_size, num_workers=2, root=root)
    cached = get_dataloaders(batch_size, cache=True, root=root)
    x, y = as_tensors(plain)
    memory = get_dls(Dataset(x, y), Dataset(x[:1], y[:1]), batch_size)[:1]
    n = len(x)
    ways = {'plain': plain, 'workers': workers, 'cache': cached, 'tensors': memory}
    for loaders in ways.values(): one_pass(loaders)  # epoch 1, not timed: fills the cache, starts the (persistent) workers
    got = interleaved({k: (lambda ls=ls: rate(lambda: one_pass(ls), n, min_time)) for k, ls in ways.items()}, repeats)
    del workers  # shuts the worker processes down
    sec = Section('2. Data loading (PNG+CSV digits)')
    sec.notes.append(f"{n:,} PNGs (train+valid+test of the course's data/ subset), batch size {batch_size}; each "
                     f"measurement repeats whole passes for at least {min_time} s, after one untimed pass "
                     "(epoch 1: fills the cache and starts the persistent workers).")
    labels = {'plain': 'get_dataloaders, plain (PIL decode each time)', 'workers': 'get_dataloaders, num_workers=2',
              'cache': 'get_dataloaders, cache=True, epoch ≥ 2', 'tensors': 'in-memory tensors: get_dls over Dataset'}
    for k, label in labels.items(): sec.rows.append(Row(label, got[k], 'images/s'))
    for k in ('workers', 'cache', 'tensors'):
        sec.rows.append(Row(f"{k} / plain", ratios(got[k], got['plain']), '×', '{:.1f}',
                            note='target ≥ 5' if k == 'cache' else ''))
    sec.targets.append(Target('cache (epoch ≥ 2) / plain', sec.rows[-2].median, 5.0, fmt='{:.1f}'))
    return sec
