"""One process of the scaling benchmark, launched by torchrun (bench/distributed.py, bench/distributed_gpu.py): trains
the course's MLP (or lecture 09's CNN) with the Learner and `DistributedCB` (lecture 10) on in-memory digits for a fixed number of epochs at
a fixed per-process batch, and rank 0 writes the training throughput of the whole job (samples/s, all processes
together; process start and the first epoch, a warm-up, not counted) as JSON.

    torchrun --nproc_per_node N -m bench.dist_worker --out RESULT.json [--device cuda] [--bs 64] [--epochs 3] [--hidden 100] [--model cnn]
"""
from __future__ import annotations
import argparse, json, os, time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from exp.nb_10 import (MLP, Callback, DataLoader, Dataset, DeviceCB, DistributedCB, Learner, MetricsCB, cleanup_distributed,
                       embedded_digits, get_cnn, init_cnn, init_distributed, is_main_process, to_float_rows, world_size)


class EpochTimes(Callback):
    "Seconds of each training epoch, measured between barriers (so the slowest rank counts), CUDA work included."
    order = 100
    def __init__(self): self.times = []
    def _sync(self, learn):
        if next(learn.model.parameters()).device.type == 'cuda': torch.cuda.synchronize()
        dist.barrier()
    def before_epoch(self, learn): self._sync(learn); self.t0 = time.perf_counter()
    def after_epoch(self, learn): self._sync(learn); self.times.append(time.perf_counter() - self.t0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--device', default='cpu')
    p.add_argument('--bs', type=int, default=64, help="batch size per process")
    p.add_argument('--epochs', type=int, default=3, help="epochs, the first one a warm-up that is not counted")
    p.add_argument('--hidden', type=int, default=100, help="hidden units of the MLP")
    p.add_argument('--model', choices=('mlp', 'cnn'), default='mlp', help="the MLP, or lecture 09's CNN (its default channels)")
    p.add_argument('--n_train', type=int, default=3000, help="training samples per epoch (the embedded digits, repeated if needed)")
    a = p.parse_args(argv)
    init_distributed(timeout_s=120)
    xt, yt, _, _ = embedded_digits()
    reps = -(-a.n_train // len(xt))  # more than the 3,000 training digits: the same digits again
    x, y = to_float_rows(xt).repeat(reps, 1)[:a.n_train], yt.repeat(reps)[:a.n_train]
    device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0))) if a.device == 'cuda' else torch.device(a.device)
    torch.manual_seed(0)
    clock = EpochTimes()
    model = MLP(n_hidden=a.hidden) if a.model == 'mlp' else init_cnn(get_cnn())
    learn = Learner(model, DataLoader(Dataset(x, y), a.bs, shuffle=True), None, F.cross_entropy, lr=0.1,  # each rank: its part of batches of N·bs
                    cbs=[DeviceCB(device), MetricsCB(), DistributedCB(), clock])
    learn.fit(a.epochs)
    per_epoch = len(x)  # samples of one epoch over all ranks: every item once
    if is_main_process():
        a.out.write_text(json.dumps({'world_size': world_size(), 'samples_per_s': [per_epoch / t for t in clock.times[1:]],
                                     'backend': dist.get_backend(), 'device': str(device), 'bs': a.bs}))
    cleanup_distributed()


if __name__ == '__main__': main()
