"""The course's main job: export `exp/` from the notebooks, then execute every lecture in order.

    python -m tools.run_course            # all lectures, outputs written back into nbs/
    python -m tools.run_course 03 04      # only these lectures
    python -m tools.run_course --quick    # quick mode: check they run; notebooks are left untouched

Prints one row per lecture with its status and seconds, and exits non-zero naming the notebook and cell that failed.
"""
from __future__ import annotations
import argparse, os, sys

import nbformat

from exp.nb_00 import quick_mode
from tools.export import ExportError, export as export_cells
from tools.notebooks import REPO, clean_notebook, execute, leaks, lecture_paths


def export() -> None:
    "Regenerate `exp/` with the course's export command (tools.export: every export cell checked first, exp/ never left broken)."
    try: n = export_cells()
    except ExportError as e: raise SystemExit(f"export: {e}") from None
    print(f"export: {n} export cells compiled, exp/ regenerated", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('lectures', nargs='*', help="lecture numbers or names (default: all, in order)")
    p.add_argument('--quick', action='store_true', help="quick mode (DLF_QUICK=1); notebooks are not rewritten")
    p.add_argument('--no-write', action='store_true', help="execute but leave the notebooks as they are")
    p.add_argument('--no-export', action='store_true', help="skip the export step (tools.export)")
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
