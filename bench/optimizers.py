"""Section 5 — optimizer step: seconds per `step()` of the course's Adam (lecture 08's `adam`, a Python loop over the
parameters with one state dict each) against `torch.optim.Adam` — its default, `foreach=False` (a loop over the
parameters, what the default picks for CPU tensors) and `foreach=True` (one multi-tensor kernel per operation) — on
the course MLP (784-100-10), with fixed gradients so that only the step is timed. Methods run alternately."""
from __future__ import annotations
import statistics, time

import torch

from exp.nb_08 import MLP, adam
from bench.timing import Row, Section, Target, interleaved, ratios

METHODS = {
    'course adam': lambda params: adam(params, lr=1e-3),
    'torch Adam, default': lambda params: torch.optim.Adam(params, lr=1e-3),
    'torch Adam, foreach=False': lambda params: torch.optim.Adam(params, lr=1e-3, foreach=False),
    'torch Adam, foreach=True': lambda params: torch.optim.Adam(params, lr=1e-3, foreach=True),
}
TARGET = 2.0  # the issue's: the course's Adam within 2x of torch's default


def ready(make, seed: int = 0):
    "An optimizer from `make` over a fresh course MLP with fixed gradients, after one step (its state exists)."
    torch.manual_seed(seed)
    model = MLP()
    for p in model.parameters(): p.grad = torch.randn_like(p) * 1e-3
    opt = make(model.parameters())
    opt.step()
    return opt


def step_us(opt, steps: int) -> float:
    "Microseconds per `opt.step()`, averaged over `steps` calls."
    t0 = time.perf_counter()
    for _ in range(steps): opt.step()
    return (time.perf_counter() - t0) / steps * 1e6


def optimizers_section(repeats: int = 7, steps: int = 200) -> Section:
    "Time one optimizer step of each method `repeats` times (each time the mean of `steps` steps), side by side."
    sec = Section('5. Optimizer step (course MLP 784-100-10, Adam)')
    opts = {name: ready(make) for name, make in METHODS.items()}
    got = interleaved({name: (lambda o=o: step_us(o, steps)) for name, o in opts.items()}, repeats)
    for name, values in got.items(): sec.rows.append(Row(f'{name}: time per step', values, 'µs', '{:.1f}'))
    course = got['course adam']
    for name in list(METHODS)[1:]:
        sec.rows.append(Row(f'course adam / {name}', ratios(course, got[name]), '×', '{:.2f}'))
    vs_default = statistics.median(ratios(course, got['torch Adam, default']))
    sec.targets.append(Target("course Adam's step time / torch.optim.Adam's (default)", vs_default, TARGET, '<='))
    foreach = torch.optim.Adam(MLP().parameters()).defaults['foreach']
    sec.notes.append(f"{steps} steps per measurement, {repeats} measurements per method; torch's default here: "
                     f"foreach={foreach} in the defaults, which for CPU tensors means the per-parameter loop "
                     f"(foreach only by default on CUDA); {torch.get_num_threads()} torch threads")
    return sec
