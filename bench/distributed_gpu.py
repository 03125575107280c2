"""Scaling on GPUs (lecture 10): the same comparison as section 6 of `python -m bench.run`, on CUDA with NCCL — 1
process on 1 GPU against N processes on the N GPUs of this machine, same per-process batch, alternating launches.

    python -m bench.distributed_gpu                    # all GPUs, batch 1024 per GPU, a wider MLP (784-4096-10)
    python -m bench.distributed_gpu --bs 256 --hidden 100 --repeats 5

Prints the throughputs and the scaling efficiency (throughput N / (N × throughput 1)); exits with status 1, saying
so, on a machine without CUDA GPUs. The course's MLP is tiny for a GPU (the step is mostly launch overhead), hence
the wider default."""
from __future__ import annotations
import argparse, sys

import torch

from bench.distributed import efficiency_rows, scaling
from bench.run import table
from bench.timing import Section, machine


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('--bs', type=int, default=1024, help="batch size per GPU (default 1024)")
    p.add_argument('--hidden', type=int, default=4096, help="hidden units of the MLP (default 4096)")
    p.add_argument('--repeats', type=int, default=3, help="launches per process count (default 3)")
    p.add_argument('--epochs', type=int, default=4, help="epochs per launch, the first a warm-up (default 4)")
    p.add_argument('--n_train', type=int, default=200_000, help="samples per epoch, the digits repeated (default 200,000)")
    a = p.parse_args(argv)
    n = torch.cuda.device_count()
    if n == 0:
        print("no CUDA GPU on this machine: run this where `torch.cuda.device_count()` is at least 1 "
              "(section 6 of `python -m bench.run` measures the CPU).", file=sys.stderr)
        return 1
    print('Machine:', '; '.join(f"{k}: {v}" for k, v in machine().items()), '; GPUs:',
          ', '.join(torch.cuda.get_device_name(i) for i in range(n)), flush=True)
    got = scaling(tuple(sorted({1, n})), a.repeats, a.bs, a.epochs, a.n_train, device='cuda', hidden=a.hidden)
    sec = Section(f'Scaling out on GPUs: 1 vs {n} processes (torchrun, NCCL, one GPU each)')
    sec.rows += efficiency_rows(got, f'MLP 784-{a.hidden}-10, batch {a.bs} per GPU')
    if n == 1: sec.notes.append("one GPU only: no scaling to measure, throughput of 1 process shown")
    print(table([sec]))
    for note in sec.notes: print(note)
    return 0


if __name__ == '__main__': sys.exit(main())
