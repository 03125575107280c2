"""Benchmarks of the course's own code against hand-written and library baselines, measured side by side in one run.

    python -m bench.run                                # everything (times in the Makefile); writes bench/results.md
    python -m bench.run --sections training loading    # only some sections (results.md is written only by a full run)
    python -m bench.run --quick                        # tiny sizes: checks every code path in well under a minute

Sections: 1 `training` — samples/s of the Learner, get_dls+fit and train_model vs a slicing loop and PyTorch's per-item DataLoader
at batch sizes 64/128/256, and the fraction of a matmul-measured FLOP ceiling; 2 `loading` — images/s of the PNG
loaders plain, with 2 workers, cached, and of in-memory tensors; 3 `fashion` — time to accuracy on full Fashion-MNIST,
lecture 09's CNN and the course's MLP vs scikit-learn's MLPClassifier (needs Debian's dataset-fashion-mnist, else
skipped, saying how to get it); 4 `course` —
seconds per lecture and in total, quick and default mode, a fresh kernel each; 5 `optimizers` — time per step of the
course's Adam (lecture 08) against torch.optim.Adam (default, foreach=False, foreach=True) on the course MLP; 6
`distributed` — training throughput of 1 vs 2 torchrun processes (gloo, 1 thread each, lecture 10's DistributedCB)
at a fixed per-process batch, and the scaling efficiency (GPUs: `python -m bench.distributed_gpu`); 7 `cnn` — samples/s
of lecture 09's CNN trained by the Learner against a hand-written loop over the same tensors.

Every figure is the median of several measurements, printed with its min–max; compared methods run alternately.
"""
from __future__ import annotations
import argparse, datetime, os, sys, time
from pathlib import Path

if __package__ in (None, ''):  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import Section, machine

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH/'results.md'
SECTIONS = ('training', 'loading', 'fashion', 'course', 'optimizers', 'distributed', 'cnn')


def run_section(name: str, a) -> Section:
    "Run section `name` with the sizes `a` (parsed arguments) asks for."
    if name == 'training':
        from bench.training import training_section
        if a.quick: return training_section(repeats=a.repeats, n_train=512, epochs=1, matmul_n=512, matmul_time=0.05)
        return training_section(repeats=a.repeats)
    if name == 'loading':
        from bench.loading import loading_section
        return loading_section(repeats=a.repeats, min_time=0.02 if a.quick else 0.3)
    if name == 'fashion':
        from bench.fashion import fashion_section
        if a.quick: return fashion_section(1, 1, n=2000, epochs=2, sklearn_max_iter=3, cnn_epochs=1)
        return fashion_section(a.fashion_repeats, a.sklearn_repeats, cnn_repeats=a.cnn_repeats)
    if name == 'optimizers':
        from bench.optimizers import optimizers_section
        return optimizers_section(repeats=a.repeats + 2, steps=20 if a.quick else 200)
    if name == 'distributed':
        from bench.distributed import distributed_section
        if a.quick: return distributed_section(repeats=1, batch_sizes=(64,), epochs=2, n_train=256)
        return distributed_section(repeats=a.repeats)
    if name == 'cnn':
        from bench.cnn import cnn_section
        if a.quick: return cnn_section(repeats=1, n_train=640)
        return cnn_section(repeats=a.repeats)
    from bench.course import course_section
    lectures = a.lectures or (['00'] if a.quick else [])
    return course_section({'quick': a.course_repeats[0], 'default': a.course_repeats[1]}, lectures)


def count(text: str) -> int:
    "A repeat count from the command line: a whole number, at least 1."
    if not text.isdigit() or int(text) < 1: raise argparse.ArgumentTypeError(f"{text!r} is not a repeat count; use 1 or more")
    return int(text)


def table(sections: list) -> str:
    "One markdown table of every section's rows: median, min–max, number of measurements."
    lines = ['| measurement | median | min–max | n | unit | note |', '|---|---:|---:|---:|---|---|']
    for s in sections:
        lines.append(f"| **{s.title}** | | | | | |")
        for r in s.rows:
            lines.append(f"| {r.name} | {r.fmt.format(r.median)} | {r.spread()} | {len(r.values)} | {r.unit} | {r.note} |")
    return '\n'.join(lines)


QUICK_NOTE = "--quick sizes: a check that every code path runs, not a benchmark; no target is judged."


def report(sections: list, info: dict, command: str, seconds: float, quick: bool = False) -> str:
    "The results file: machine, table, targets and notes."
    out = ['# Benchmark results', '', f"`{command}` — {datetime.date.today().isoformat()}, {seconds / 60:.1f} min in all."
           + (f" {QUICK_NOTE}" if quick else ''), '', '## Machine', '']
    out += [f"- {k}: {v}" for k, v in info.items()]
    out += ['', '## Results', '', table(sections), '', '## Targets', '']
    out += [f"- {t.line()}" for s in sections for t in s.targets] or ['- none measured']
    out += ['', '## Notes', ''] + [f"- {s.title.split(' ', 1)[0]} {n}" for s in sections for n in s.notes]
    return '\n'.join(out) + '\n'


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('--sections', nargs='+', choices=SECTIONS, default=list(SECTIONS), help="sections to run (default: all)")
    p.add_argument('--quick', action='store_true', help="tiny sizes and one lecture: a smoke test of the code paths, not a benchmark")
    p.add_argument('--repeats', type=count, default=None,
                   help="measurements per figure in sections 1-2 and 6 (launches per process count), and 2 more in section 5 (default 5; quick 2)")
    p.add_argument('--cnn-repeats', type=count, default=1, help="course CNN runs (seeds) in section 3 (default 1)")
    p.add_argument('--fashion-repeats', type=count, default=3, help="course MLP runs (seeds) in section 3 (default 3)")
    p.add_argument('--sklearn-repeats', type=count, default=2, help="scikit-learn runs in section 3, 1-2 min each (default 2)")
    p.add_argument('--course-repeats', type=count, nargs=2, default=[2, 2], metavar=('QUICK', 'DEFAULT'),
                   help="whole-course runs in quick and in default mode, 1-3 min each (default 2 2)")
    p.add_argument('--lectures', nargs='*', default=[], help="only these lectures in section 4 (default: all; quick: 00)")
    p.add_argument('--out', type=Path, default=None,
                   help="write the results here (default: bench/results.md, but only after a full run of all sections)")
    a = p.parse_args(argv)
    a.repeats = a.repeats or (2 if a.quick else 5)
    if a.quick: a.course_repeats = [1, 1]
    full = set(a.sections) == set(SECTIONS) and not a.quick and not a.lectures
    out = a.out or (RESULTS if full else None)
    info, t0, sections = machine(), time.perf_counter(), []
    print('Machine:', '; '.join(f"{k}: {v}" for k, v in info.items()), flush=True)
    for name in SECTIONS:
        if name not in a.sections: continue
        print(f"running {name} ...", flush=True)
        t = time.perf_counter()
        sections.append(run_section(name, a))
        print(f"  {name} done in {time.perf_counter() - t:.0f} s", flush=True)
        for n in sections[-1].notes:
            if n.startswith('SKIPPED'): print(f"  {n}", flush=True)
    seconds = time.perf_counter() - t0
    if a.quick:
        for s in sections: s.targets.clear()
    info['load average (1/5/15 min) at end'] = ' / '.join(f'{x:.2f}' for x in os.getloadavg())
    print('\n' + table(sections) + '\n')
    for s in sections:
        for t in s.targets: print('target', t.line())
        for n in s.notes: print(s.title.split(' ', 1)[0], n)
    if a.quick: print(QUICK_NOTE)
    command = ' '.join(['python -m bench.run', *(sys.argv[1:] if argv is None else argv)])
    if out is not None:
        out.write_text(report(sections, info, command, seconds, a.quick))
        print(f"\nwrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out.name}")
    else: print("\nresults not written (quick or partial run); pass --out FILE to save them")
    print(f"total {seconds / 60:.1f} min")
    return 1 if any('FAILED' in n for s in sections for n in s.notes) else 0


if __name__ == '__main__': sys.exit(main())
