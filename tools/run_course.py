"""The course's main job: export `exp/` from the notebooks, then execute every lecture in order.

    python -m tools.run_course            # all lectures, outputs written back into nbs/
    python -m tools.run_course 03 04      # only these lectures
    python -m tools.run_course --quick    # quick mode: check they run; notebooks are left untouched

Prints one row per lecture with its status and seconds, and exits non-zero naming the notebook and cell that failed.
"""
from __future__ import annotations
import argparse, os, subprocess, sys

import nbformat

from exp.nb_00 import quick_mode
from tools.notebooks import REPO, clean_notebook, execute, leaks, lecture_paths


def export() -> None:
    "Regenerate `exp/` from the notebooks with nbdev-export (IN_TEST would make it a silent no-op, so drop it)."
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    exe = os.path.join(os.path.dirname(sys.executable), 'nbdev-export')
    r = subprocess.run([exe], cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode: raise SystemExit(f"nbdev-export failed:\n{r.stdout}{r.stderr}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('lectures', nargs='*', help="lecture numbers or names (default: all, in order)")
    p.add_argument('--quick', action='store_true', help="quick mode (DLF_QUICK=1); notebooks are not rewritten")
    p.add_argument('--no-write', action='store_true', help="execute but leave the notebooks as they are")
    p.add_argument('--no-export', action='store_true', help="skip nbdev-export")
    a = p.parse_args(argv)
    if a.quick: os.environ['DLF_QUICK'] = '1'
    write = not (a.no_write or quick_mode())
    paths = lecture_paths(a.lectures)
    if not a.no_export: export()
    mode = 'quick' if quick_mode() else 'default'
    print(f"{'lecture':<28} {'status':<8} {'seconds':>8}   ({mode} mode, data: {os.environ.get('DLF_DATASET') or 'settings.ini'})", flush=True)
    failures, total = [], 0.0
    for path in paths:
        nb, secs, err = execute(path)
        total += secs
        if err is None:
            clean_notebook(nb)
            found = leaks(nb)
            if found: err = "machine paths in outputs: " + '; '.join(found[:3])
        print(f"{path.stem:<28} {'ok' if err is None else 'FAILED':<8} {secs:8.1f}", flush=True)
        if err: failures.append(f"{path.relative_to(REPO)} {err}")
        elif write: nbformat.write(nb, path)
    print(f"{'total':<28} {len(paths) - len(failures)}/{len(paths)} ok {total:8.1f}")
    for f in failures: print('FAILED:', f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__': sys.exit(main())
