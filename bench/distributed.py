"""Section 6 — scaling out (lecture 10): training throughput of the course's MLP (batch 64 and 512 per process) and of
lecture 09's CNN (batch 64) with the Learner and `DistributedCB`, launched by torchrun with 1 and with 2 processes
(gloo, one thread each) at the same per-process batch, side by side
(the two launches alternate), and the scaling efficiency: throughput with 2 processes / (2 × throughput with 1).
1.0 would be perfect scaling; the rest is communication (an all-reduce of the gradients each step, the gathered
metrics each epoch) and the two processes sharing the machine. GPUs: `python -m bench.distributed_gpu`."""
from __future__ import annotations
import json, os, statistics, tempfile
from pathlib import Path

from exp.nb_10 import MLP, get_cnn, run_torchrun
from bench.timing import Row, Section

REPO = Path(__file__).resolve().parent.parent


def n_weights(model) -> int: return sum(p.numel() for p in model.parameters())


def throughput(nproc: int, bs: int, epochs: int, n_train: int, device: str = 'cpu', hidden: int = 100, model: str = 'mlp') -> float:
    "Samples/s of the whole job (median over its timed epochs), from one torchrun launch of `nproc` processes."
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)/'result.json'
        job = run_torchrun(['-m', 'bench.dist_worker', '--out', out, '--device', device, '--bs', bs, '--epochs', epochs,
                            '--n_train', n_train, '--hidden', hidden, '--model', model], nproc=nproc, timeout=600,
                           env={'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])})
        if job.returncode != 0: raise RuntimeError(f"the {nproc}-process benchmark job failed:\n{job.stderr[-3000:]}")
        return statistics.median(json.loads(out.read_text())['samples_per_s'])


def scaling(counts: tuple, repeats: int, bs: int, epochs: int, n_train: int, device: str = 'cpu', hidden: int = 100,
            model: str = 'mlp') -> dict:
    "{nproc: [samples/s per repeat]}: one launch per process count in each repeat, alternating."
    got = {n: [] for n in counts}
    for r in range(repeats):
        for n in (counts if r % 2 == 0 else counts[::-1]):
            got[n].append(throughput(n, bs, epochs, n_train, device, hidden, model))
    return got


def efficiency_rows(got: dict, label: str) -> list:
    "Rows: throughput per process count, and the scaling efficiency of the largest count, repeat by repeat."
    one, most = min(got), max(got)
    rows = [Row(f'{label}, {n} process{"es" if n > 1 else ""}: training throughput', v, 'samples/s') for n, v in got.items()]
    if most == one: return rows
    rows.append(Row(f'{label}: scaling efficiency, throughput {most} / ({most} × throughput 1)',
                    [b / (most * a) for a, b in zip(got[one], got[most])], '×', '{:.2f}'))
    return rows


def distributed_section(repeats: int = 3, batch_sizes: tuple = (64, 512), epochs: int = 4, n_train: int = 3000,
                        cnn_batch_sizes: tuple = (64,)) -> Section:
    "1 vs 2 gloo processes on the CPU, one thread each, at each per-process batch size: the MLP's, then the CNN's."
    sec = Section('6. Scaling out: 1 vs 2 processes (torchrun, gloo, CPU, 1 thread each)')
    for bs in batch_sizes:
        sec.rows += efficiency_rows(scaling((1, 2), repeats, bs, epochs, n_train), f'MLP 784-100-10, batch {bs} per process')
    for bs in cnn_batch_sizes:
        sec.rows += efficiency_rows(scaling((1, 2), repeats, bs, epochs, n_train, model='cnn'),
                                    f'CNN (lecture 09, {n_weights(get_cnn()):,} weights), batch {bs} per process')
    sec.notes.append(f"{repeats} launches per process count and batch size, alternating; {epochs} epochs of {n_train} digits "
                     f"each, the first a warm-up; throughput between barriers, process start excluded; {os.cpu_count()} CPUs "
                     f"on the machine. Each step all-reduces the gradients (MLP {n_weights(MLP()):,} numbers, CNN {n_weights(get_cnn()):,}); a larger "
                     "batch per process, or more computation per sample (the CNN), spreads that cost over more work")
    return sec
