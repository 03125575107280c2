"Measuring tools shared by the benchmark sections: timers, interleaved repeats, result rows, targets, machine description."
from __future__ import annotations
import operator, os, platform, statistics, time
from dataclasses import dataclass, field
from typing import Callable

import torch


@dataclass
class Row:
    "One line of the results table: a figure measured `len(values)` times (its median and min–max are printed)."
    name: str
    values: list
    unit: str = ''
    fmt: str = '{:,.0f}'
    note: str = ''

    @property
    def median(self) -> float: return statistics.median(self.values)

    def spread(self) -> str:
        "min–max of the values ('—' for a single value)."
        if len(self.values) < 2: return '—'
        return f"{self.fmt.format(min(self.values))}–{self.fmt.format(max(self.values))}"


_OPS = {'>=': operator.ge, '>': operator.gt, '<=': operator.le, '<': operator.lt}


@dataclass
class Target:
    "A goal from the issue: `measured` must be `op` (>=, >, <=, <) `bound`."
    name: str
    measured: float
    bound: float
    op: str = '>='
    fmt: str = '{:.2f}'

    @property
    def met(self) -> bool: return _OPS[self.op](self.measured, self.bound)

    def verdict(self) -> str:
        "'met' or 'missed by N%' (how far the median is from the bound, relative to the bound)."
        if self.met: return 'met'
        return f"missed by {abs(self.measured - self.bound) / abs(self.bound):.0%}"

    def line(self) -> str:
        return f"{self.name}: {self.fmt.format(self.measured)} (target {self.op} {self.fmt.format(self.bound)}) — {self.verdict()}"


@dataclass
class Section:
    "What one benchmark section returns: table rows, targets, and notes (e.g. why it was skipped, settings used)."
    title: str
    rows: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def timed(fn: Callable, *args, **kwargs):
    "(seconds, result) of one call `fn(*args, **kwargs)`."
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def rate(fn: Callable, items: int, min_time: float) -> float:
    "Items per second of `fn` (each call handles `items`), calling it again until `min_time` seconds have passed."
    calls, t0 = 0, time.perf_counter()
    while True:
        fn(); calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time: return calls * items / elapsed


def interleaved(measures: dict, repeats: int) -> dict:
    """Call every `measures[name]()` once per repeat, all methods side by side in each repeat (the order rotates from
    one repeat to the next so none always goes first); returns {name: [value per repeat]}."""
    names, out = list(measures), {k: [] for k in measures}
    for r in range(repeats):
        for k in names[r % len(names):] + names[:r % len(names)]: out[k].append(measures[k]())
    return out


def ratios(a: list, b: list) -> list:
    "Per-repeat ratios a[i]/b[i] of two side-by-side measurements."
    return [x / y for x, y in zip(a, b)]


def matmul_flops(n: int = 2048, min_time: float = 0.5) -> float:
    "FLOP/s of an n×n by n×n float32 matrix product (2n³ FLOPs each) on the CPU, with torch's current threads."
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up: first call allocates
    return rate(lambda: a @ b, 2 * n**3, min_time)


def cpu_model() -> str:
    "The CPU's model name from /proc/cpuinfo (Linux), else what the platform module knows."
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    "Description of this machine and software: CPU, cores, torch and its threads, BLAS threads, load average."
    import numpy, sklearn
    try: cores = len(os.sched_getaffinity(0))
    except AttributeError: cores = os.cpu_count()
    try:
        from threadpoolctl import threadpool_info
        blas = ', '.join(sorted({f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()}))
    except Exception: blas = 'unknown'
    load = ' / '.join(f'{x:.2f}' for x in os.getloadavg()) if hasattr(os, 'getloadavg') else 'unknown'
    return {'CPU': cpu_model(), 'cores available': cores, 'OS': f"{platform.system()} {platform.release()}",
            'Python': platform.python_version(), 'torch': torch.__version__, 'torch threads': torch.get_num_threads(),
            'numpy': numpy.__version__, 'scikit-learn': sklearn.__version__, 'numpy/sklearn BLAS': blas,
            'load average (1/5/15 min) at start': load}
