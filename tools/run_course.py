"""The course's main job: export `exp/` from the notebooks, then execute every lecture in order.

    python -m tools.run_course            # all lectures, outputs written back into nbs/
    python -m tools.run_course 03 04      # only these lectures
    python -m tools.run_course --quick    # quick mode: check they run; notebooks are left untouched
    python -m tools.run_course --times    # what `make course` runs: also a quick pass, both times into the README

Prints one row per lecture with its status and seconds, and exits non-zero naming the notebook and cell that failed.
With `--times`, each lecture's seconds (kernel start included) in the mode(s) run go into the README's run-time table,
with the date and a description of the machine (cores, architecture, GPU; no names or paths).
"""
from __future__ import annotations
import argparse, datetime, os, platform, re, sys
from pathlib import Path

import nbformat

from exp.nb_00 import quick_mode
from tools.export import ExportError, export as export_cells
from tools.notebooks import REPO, clean_notebook, environment, execute, lecture_paths, notebook_problems

README = REPO/'README.md'
TIMES_START, TIMES_END = '<!-- run-times: written by `make course` (tools/run_course.py) -->', '<!-- /run-times -->'
TIMES_HEAD = '| # | lecture | default mode | quick mode | measured |\n|---|---|---:|---:|---|'


def export() -> None:
    "Regenerate `exp/` with the course's export command (tools.export: every export cell checked first, exp/ never left broken)."
    try: n = export_cells()
    except ExportError as e: raise SystemExit(f"export: {e}") from None
    print(f"export: {n} export cells compiled, exp/ regenerated", flush=True)


def run(paths: list[Path], write: bool) -> tuple[dict, list[str]]:
    "Execute `paths` in the current mode, printing a row each; ({stem: seconds} of those that passed, failures)."
    mode = 'quick' if quick_mode() else 'default'
    print(f"{'lecture':<28} {'status':<8} {'seconds':>8}   ({mode} mode, data: {os.environ.get('DLF_DATASET') or 'settings.ini'})", flush=True)
    times, failures, total = {}, [], 0.0
    for path in paths:
        nb, secs, err = execute(path)
        total += secs
        if err is None:
            clean_notebook(nb)
            found = notebook_problems(nb)
            if found: err = '; '.join(found[:3])
        print(f"{path.stem:<28} {'ok' if err is None else 'FAILED':<8} {secs:8.1f}", flush=True)
        if err: failures.append(f"{path.relative_to(REPO)} ({mode} mode) {err}")
        else:
            times[path.stem] = secs
            if write: nbformat.write(nb, path)
    print(f"{'total':<28} {len(paths) - len(failures)}/{len(paths)} ok {total:8.1f}", flush=True)
    return times, failures


def machine() -> str:
    "This machine in a few words, e.g. '2-core x86_64 CPU, no GPU' (no host or user names)."
    import torch
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    return f"{cores}-core {platform.machine()} CPU, {gpu}"


def _seconds(s: float) -> str: return f"{s:.0f} s" if s < 600 else f"{s / 60:.1f} min"


def write_times(times: dict, readme: Path = README, when: str = None, where: str = None) -> None:
    """Put `times` ({mode: {lecture stem: seconds}}) into `readme`'s run-time table between its markers: the rows of
    the lectures measured get their new seconds and today's date and machine; the other rows stay; a total row closes it."""
    text = readme.read_text()
    if TIMES_START not in text or TIMES_END not in text:
        raise SystemExit(f"{readme.name} has no run-time table: put the lines {TIMES_START} and {TIMES_END} where it goes.")
    head, rest = text.split(TIMES_START, 1)
    table, tail = rest.split(TIMES_END, 1)
    rows = {stem: {'nn': nn, 'default': d.strip(), 'quick': q.strip(), 'measured': w.strip()}
            for nn, stem, d, q, w in re.findall(r'^\| (\d\d) \| (\w+) \| ([^|]*) \| ([^|]*) \| ([^|]*) \|$', table, re.M)}
    when, where = when or datetime.date.today().isoformat(), where or machine()
    for mode, secs in times.items():
        for stem, s in secs.items():
            row = rows.setdefault(stem, {'nn': stem[:2], 'default': '—', 'quick': '—'})
            row[mode], row['measured'] = _seconds(s), f"{when}, {where}"
    known = {p.stem for p in lecture_paths(nbs=readme.parent/'nbs')}
    rows = {stem: r for stem, r in sorted(rows.items()) if stem in known}
    def total(mode):
        vals = [r[mode] for r in rows.values()]
        if not vals or any(not re.fullmatch(r'[\d.]+ (s|min)', v) for v in vals): return '—'
        return _seconds(sum(float(v.split()[0]) * (60 if v.endswith('min') else 1) for v in vals))
    lines = [TIMES_HEAD] + [f"| {r['nn']} | {stem} | {r['default']} | {r['quick']} | {r['measured']} |" for stem, r in rows.items()]
    lines.append(f"| | all lectures | {total('default')} | {total('quick')} | |")
    readme.write_text(head + TIMES_START + '\n' + '\n'.join(lines) + '\n' + TIMES_END + tail)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('lectures', nargs='*', help="lecture numbers or names (default: all, in order)")
    p.add_argument('--quick', action='store_true', help="quick mode (DLF_QUICK=1); notebooks are not rewritten")
    p.add_argument('--times', action='store_true', help="after a default-mode run, run quick mode too (nothing written); "
                   "put the seconds of the mode(s) run into the README's run-time table")
    p.add_argument('--no-write', action='store_true', help="execute but leave the notebooks as they are")
    p.add_argument('--no-export', action='store_true', help="skip the export step (tools.export)")
    a = p.parse_args(argv)
    if a.quick: os.environ['DLF_QUICK'] = '1'
    paths = lecture_paths(a.lectures)
    if not a.no_export: export()
    mode = 'quick' if quick_mode() else 'default'
    times, failures = {}, []
    times[mode], failures = run(paths, write=not (a.no_write or quick_mode()))
    if a.times and mode == 'default':
        with environment(DLF_QUICK='1'):
            times['quick'], more = run(paths, write=False)
        failures += more
    if a.times:
        write_times(times)
        print(f"run times written to {README.name} ({', '.join(times)} mode)")
    for f in failures: print('FAILED:', f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__': sys.exit(main())
