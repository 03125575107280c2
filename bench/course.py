"""Section 4 — whole course: seconds to execute every lecture in quick and in default mode, each in a fresh kernel.

The lectures are copied into a temporary folder beside `nbs/` (the set-up cell finds the repository above the
notebook's folder, and relative paths like `../data` keep working) and executed there, so `nbs/` is never modified;
files the lectures write land in the temporary folder and are deleted with it.
"""
from __future__ import annotations
import shutil, tempfile
from pathlib import Path

from tools.notebooks import REPO, environment, execute, lecture_paths
from bench.timing import Row, Section, Target

MODES = {'quick': '1', 'default': '0'}
LIMITS = {'quick': 120, 'default': 600}  # the targets: the whole course in under this many seconds


def course_section(repeats: dict = None, lectures=(), paths=None) -> Section:
    """Execute the lectures (`paths`, else those matching `lectures`, else all) `repeats[mode]` times per mode, modes
    alternating, on the embedded digits with downloads off; per-lecture and total seconds."""
    repeats = repeats or {'quick': 2, 'default': 2}
    paths = [Path(p) for p in (paths or lecture_paths(lectures))]
    sec = Section('4. Whole course (fresh kernel per lecture, embedded data)')
    secs = {(m, p.stem): [] for m in repeats for p in paths}
    totals, failures = {m: [] for m in repeats}, []
    with tempfile.TemporaryDirectory(dir=REPO, prefix='.bench-course-') as tmp:
        copies = [Path(shutil.copy(p, tmp)) for p in paths]
        modes = list(repeats)
        for r in range(max(repeats.values())):
            for mode in (modes if r % 2 == 0 else modes[::-1]):
                if r >= repeats[mode]: continue
                with environment(DLF_QUICK=MODES[mode], DLF_DATASET='embedded', DLF_OFFLINE='1'):
                    total = 0.0
                    for p in copies:
                        _, s, err = execute(p)
                        total += s
                        secs[mode, p.stem].append(s)
                        if err: failures.append(f"{mode} mode, run {r + 1}: {p.stem} failed at {err}")
                    totals[mode].append(total)
    for mode in repeats:
        for p in paths: sec.rows.append(Row(f"{mode}: {p.stem}", secs[mode, p.stem], 's', '{:.1f}'))
        whole = mode in LIMITS and len(paths) == len(lecture_paths())
        sec.rows.append(Row(f"{mode}: total of {len(paths)} lecture{'s' * (len(paths) != 1)}", totals[mode], 's', '{:.1f}',
                            note=f"target < {LIMITS[mode]}" if whole else ''))
        if whole: sec.targets.append(Target(f"whole course, {mode} mode (s)", sec.rows[-1].median, LIMITS[mode], '<', '{:.0f}'))
    sec.notes.append(f"{len(paths)} lecture{'s' * (len(paths) != 1)}, {', '.join(f'{m} mode × {n}' for m, n in repeats.items())}; "
                     "each lecture's time includes starting its kernel.")
    sec.notes += [f"FAILED: {f}" for f in failures]
    return sec
