"""A new lecture in one command, keeping every rule of tools/rules.py from the start.

    python -m tools.new_lecture 11 resnets "Residual networks"     # or: make lecture NN=11 NAME=resnets TITLE="…"

Writes, and refuses to overwrite anything that exists:
- `nbs/NN_name.ipynb`: the Colab badge and the set-up cell, the title, `#| default_exp nb_NN`, the chain cell
  importing lecture NN-1, an imports cell, a first section to write, `## Summary` and `## Exercises` with three
  exercises — the second self-checking, with its answer and check cells;
- that exercise's check in helpers/exercises.py and its reference solution and wrong answers in solutions/ex_NN.py.
  The exercise is a placeholder (`count_parameters`), there so the lecture runs and its check is proven from the
  start: replace it with one on the lecture's topic;
- the README's lecture row (with its Colab badge) and run-time row, and the newest module in its sentence;
- a "Next:" link at the end of lecture NN-1.
Then it exports `exp/` (tools.export) and executes the new lecture, writing it back in the committed format.
Every text in parentheses in the new lecture is a placeholder to replace.
"""
from __future__ import annotations
import argparse, re, sys
from pathlib import Path

import nbformat

from tools import setup_cell
from tools.export import ExportError, export
from tools.notebooks import LECTURE_NAME, REPO, clean_notebook, execute, lecture_paths, notebook_problems
from tools.rules import registered_checks

EXERCISE = 'count_parameters'  # the placeholder exercise (its check, `_count_parameters`, is in helpers/exercises.py)


def skeleton(nn: str, title: str, prev: str | None) -> nbformat.NotebookNode:
    "The new lecture's cells (the badge and the set-up cell are added by tools.setup_cell)."
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    chain = ([code(f"#| export\nfrom exp.nb_{prev} import *\nfrom exp import nb_{prev} as _previous\n"
                   "__all__ = _previous.__all__ + globals().get('__all__', [])")] if prev else [])
    cells = [
        md(f"# {nn} — {title}\n\n(What this lecture teaches and why, in a paragraph; then its sections as a numbered list.)"),
        code(f"#| default_exp nb_{nn}"), *chain,
        code("#| export\nimport torch\nfrom torch import nn"),
        md("## 1. (The first section)\n\n(Explain the idea; then show it in a cell; then check the claim with `test_eq` or\n"
           "`test_near`. Cells marked `#| export` go to the lecture's module; every training cell says how long it takes\n"
           "and what it reaches on a 2-core CPU.)"),
        md("## Summary\n\n- (What this lecture taught, one line each.)"),
        md("## Exercises\n\nThose marked *(checked)* come with an answer cell and a check cell; reference solutions are in\n"
           "the repository's `solutions/` folder.\n\n"
           "1. (An exercise.)\n"
           f"2. *(checked)* Write `{EXERCISE}(model)`: the number of trainable parameters of `model` (parameters with\n"
           "   `requires_grad=False` do not count). (A placeholder written by `make lecture`: replace it with an exercise on\n"
           f"   this lecture's topic, its check in `helpers/exercises.py` and its solution in `solutions/ex_{nn}.py`.)\n"
           "3. (An exercise.)"),
        code(f"# Your answer to exercise 2 (replace the body; the next cell checks it)\n"
             f"def {EXERCISE}(model: nn.Module) -> int:\n"
             '    "The number of trainable parameters of `model`."\n'
             "    raise NotImplementedError  # replace this line with your code"),
        code(f"# NBVAL_CHECK_OUTPUT\nfrom helpers.exercises import check\nsolved = check('{nn}', '{EXERCISE}', {EXERCISE})"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


SOLUTION = '''"Reference solutions of lecture {nn}'s self-checking exercises, and wrong answers their checks must refuse."
from torch import nn


def {name}(model: nn.Module) -> int:
    "The number of trainable parameters of `model` (the placeholder exercise written by tools/new_lecture.py)."
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {{'{name}': [
    lambda model: sum(p.numel() for p in model.parameters()),  # frozen parameters too
    lambda model: len(list(model.parameters())),               # tensors, not numbers
]}}
'''


def new_lecture(nn: str, name: str, title: str, root: Path = REPO, log=print) -> Path:
    "Write lecture `nn` (see the module's docstring) into the course at `root`; its path. A ValueError names what is wrong."
    paths = lecture_paths(nbs=root/'nbs')
    want = f'{len(paths):02d}'
    if not (nn and name and title):
        raise ValueError(f'give its number, name and title: make lecture NN={want} NAME=resnets TITLE="Residual networks"')
    path = root/'nbs'/f'{nn}_{name}.ipynb'
    if nn != want: raise ValueError(f"the next lecture is number {want} (the last is {paths[-1].name}), not {nn!r}.")
    if not LECTURE_NAME.fullmatch(path.name): raise ValueError(f"name {name!r}: use lowercase letters, digits and _ (e.g. resnets).")
    if not title.strip() or title != title.strip(): raise ValueError(f"title {title!r}: give the lecture's title, e.g. \"Residual networks\".")
    solution, exercises, readme = root/'solutions'/f'ex_{nn}.py', root/'helpers'/'exercises.py', root/'README.md'
    taken = [str(p.relative_to(root)) for p in (path, solution) if p.exists()]
    if nn in registered_checks(root): taken.append(f"helpers/exercises.py's checks of lecture {nn}")
    if taken: raise ValueError(f"lecture {nn} already has {', '.join(taken)}: nothing was written.")
    text = readme.read_text()
    prev = paths[-1] if paths else None
    newest = f'`from exp.nb_{prev.name[:2]} import *` (the newest module)' if prev else None
    rows = [l for l in text.splitlines() if re.match(r'\| \d\d \| \[', l)]
    times = [l for l in text.splitlines() if re.match(r'\| \d\d \| \w+ \| ', l)]
    if prev and (newest not in text or not rows or not times):
        raise ValueError("README.md lacks the newest-module sentence, the lecture table or the run-time table "
                         "(tools/rules.py says what each looks like): nothing was written.")

    nb = skeleton(nn, title, prev.name[:2] if prev else None)
    setup_cell.refresh(nb, path.name)
    nbformat.write(nb, path)
    solution.write_text(SOLUTION.format(nn=nn, name=EXERCISE))
    exercises.write_text(exercises.read_text().rstrip('\n') + f"\n\n\nexercise('{nn}', '{EXERCISE}')(_count_parameters)  "
                         "# the placeholder exercise written by tools/new_lecture.py: replace it\n")
    row = f"| {nn} | [{title}](nbs/{path.name}) | (what it teaches) | {setup_cell.badge(path.name)} |"
    text = text.replace(rows[-1], rows[-1] + '\n' + row, 1).replace(times[-1], times[-1] + f'\n| {nn} | {path.stem} | — | — | not measured yet |', 1)
    if prev: text = text.replace(newest, f'`from exp.nb_{nn} import *` (the newest module)')
    readme.write_text(text)
    if prev:
        before = nbformat.read(prev, as_version=4)
        before.cells.append(nbformat.v4.new_markdown_cell(f"Next: [{nn} — {title}]({path.name})."))
        nbformat.write(before, prev)
    log(f"wrote {path.relative_to(root)}, solutions/ex_{nn}.py; added its check to helpers/exercises.py, its rows to "
        f"README.md" + (f" and a Next link to {prev.name}" if prev else ''))
    export(root)
    done, secs, err = execute(path)
    if err is None:
        clean_notebook(done)
        err = '; '.join(notebook_problems(done)) or None
    if err: raise ValueError(f"{path.relative_to(root)} was written but fails when executed: {err}")
    nbformat.write(done, path)
    log(f"exported exp/nb_{nn}.py and executed {path.name} ({secs:.1f} s); now write it, then `make course` and `make test`")
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python -m tools.new_lecture', description=__doc__.split('\n')[0])
    p.add_argument('nn', help="its number, the next one: e.g. 11")
    p.add_argument('name', help="its file name after the number: lowercase letters, digits and _ (e.g. resnets)")
    p.add_argument('title', help='its title, e.g. "Residual networks"')
    p.add_argument('--root', type=Path, default=REPO, help=argparse.SUPPRESS)  # the tests scaffold into a copy
    a = p.parse_args(argv)
    try: new_lecture(a.nn, a.name, a.title, a.root)
    except (ValueError, ExportError) as e:
        print(f"new lecture: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__': sys.exit(main())
