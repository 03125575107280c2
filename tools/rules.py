"""What every lecture is held to, derived from `nbs/` alone: adding a lecture extends no list.

    python -m tools.rules          # every problem of every lecture, one line each; exit 1 if there is one

A lecture `nbs/NN_name.ipynb` (numbered 00, 01, … without gaps) must have:
- the Colab badge and the set-up cell as its first two cells (`python -m tools.setup_cell` writes them), then its
  title `# NN — Title`, its `#| default_exp nb_NN` cell and, from 01 on, the chain cell importing lecture NN-1;
- a `## Summary` and a `## Exercises` section as its last two sections, with 3–5 numbered exercises, at least one of
  them self-checking: a cell calling `check('NN', name, answer)`, a check registered for it in helpers/exercises.py,
  a reference solution and at least one wrong answer (`WRONG`) in solutions/ex_NN.py, and — as committed — the check
  cell saying "not yet solved";
- the splits rule kept (`tools.notebooks.split_rule_violations`);
- a row in the README's lecture table (its link and Colab badge) and in its run-time table; the last lecture of all
  named as the newest module in the README, every other one ending with a "Next:" link to the lecture after it.
The website's page of each lecture is made from `nbs/` by tools/site.py (its tests check every page).
"""
from __future__ import annotations
import ast, re, subprocess, sys
from pathlib import Path

import nbformat

from tools.notebooks import LECTURE_NAME, REPO, cell_ref, lecture_paths, split_rule_violations
from tools import setup_cell

_CHECK_CALL = re.compile(r"""\bcheck\(\s*['"](\d\d)['"]\s*,\s*['"](\w+)['"]""")


def committed(path: Path):
    "Notebook `path` as git would commit it (its staged version, which for a learner is the one checked out); else as it is."
    r = subprocess.run(['git', 'show', f':./{path.name}'], cwd=path.parent, capture_output=True, text=True)
    return nbformat.reads(r.stdout, as_version=4) if r.returncode == 0 else nbformat.read(path, as_version=4)


def registered_checks(root: Path = REPO) -> dict[str, set[str]]:
    "{lecture: {exercise names}} registered in `root/helpers/exercises.py` (`@exercise('NN', 'name')`), read without running it."
    found = {}
    for node in ast.walk(ast.parse((root/'helpers'/'exercises.py').read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'exercise' and len(node.args) == 2:
            lec, name = (a.value for a in node.args)
            found.setdefault(lec, set()).add(name)
    return found


def solutions(root: Path, nn: str) -> tuple[set[str], set[str]]:
    "(functions, names with wrong answers in `WRONG`) of `root/solutions/ex_NN.py`, read without running it."
    path = root/'solutions'/f'ex_{nn}.py'
    if not path.is_file(): return set(), set()
    tree = ast.parse(path.read_text())
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    wrong = next((n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'WRONG'), None)
    names = {k.value for k, v in zip(wrong.keys, wrong.values) if isinstance(v, ast.List) and v.elts} if isinstance(wrong, ast.Dict) else set()
    return funcs, names


def _headings(nb, level: str = '## ') -> list[str]:
    return [l.strip() for c in nb.cells if c.cell_type == 'markdown' for l in c.source.splitlines() if l.startswith(level)]


def lecture_problems(path: Path, root: Path = REPO) -> list[str]:
    "Everything lecture `path` lacks, one line each saying what to do; [] when it keeps every rule."
    nn, nb, problems = path.name[:2], nbformat.read(path, as_version=4), []
    add = problems.append
    paths = lecture_paths(nbs=root/'nbs')
    fresh = nbformat.from_dict(nb)
    if setup_cell.refresh(fresh, path.name):
        add("its Colab badge, set-up cell or metadata is missing or stale: run `python -m tools.setup_cell`")
    title = nb.cells[2].source.splitlines()[0] if len(nb.cells) > 2 and nb.cells[2].source else ''
    if not (nb.cells[2:3] and nb.cells[2].cell_type == 'markdown' and re.fullmatch(rf'# {nn} — \S.*', title)):
        add(f"its third cell (after the badge and the set-up cell) must be markdown starting with its title `# {nn} — Title`")
    code = [c.source for c in nb.cells if c.cell_type == 'code']
    if not any(s.strip() == f'#| default_exp nb_{nn}' for s in code):
        add(f"no `#| default_exp nb_{nn}` cell: its exported cells would go nowhere")
    if nn != '00':
        prev = f'{int(nn) - 1:02d}'
        chain = (f'from exp.nb_{prev} import *', f'from exp import nb_{prev} as _previous',
                 "__all__ = _previous.__all__ + globals().get('__all__', [])")
        if not any(s.startswith('#| export') and all(l in s for l in chain) for s in code):
            add(f"no chain cell: an exported cell with `{chain[0]}`, `{chain[1]}` and `{chain[2]}` (lecture 00 explains it)")
    heads = _headings(nb)
    if heads[-2:] != ['## Summary', '## Exercises']:
        add(f"its last two sections must be `## Summary` and `## Exercises`; they are {heads[-2:]}")
    else:
        text = '\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown')
        items = re.findall(r'^(\d+)\. ', text.split('## Exercises', 1)[1], re.M)
        if not (3 <= len(items) <= 5 and items == [str(i + 1) for i in range(len(items))]):
            add(f"`## Exercises` must number 3–5 exercises 1., 2., …; found {items}")
    problems += exercise_problems(path, root)
    problems += [f"splits rule: {p}" for p in split_rule_violations(nb)]
    problems += readme_problems(path, root)
    later = [p for p in paths if p.name > path.name]
    if later and f']({later[0].name})' not in (nb.cells[-1].source if nb.cells and nb.cells[-1].cell_type == 'markdown' else ''):
        add(f"its last cell must be markdown with a link to the next lecture: `Next: [{later[0].name[:2]} — …]({later[0].name}).`")
    return problems


def exercise_problems(path: Path, root: Path = REPO) -> list[str]:
    "What the lecture's self-checking exercises lack: a check cell, a registered check, a solution, wrong answers, an unsolved committed cell."
    nn, nb = path.name[:2], nbformat.read(path, as_version=4)
    calls = {name for c in nb.cells if c.cell_type == 'code' for lec, name in _CHECK_CALL.findall(c.source) if lec == nn}
    if not calls:
        return [f"no self-checking exercise: a code cell `check('{nn}', 'name', name)` after the learner's answer cell "
                f"(see any lecture's exercises), its check in helpers/exercises.py, its solution in solutions/ex_{nn}.py"]
    problems, registered = [], registered_checks(root).get(nn, set())
    funcs, wrong = solutions(root, nn)
    for name in sorted(calls):
        if name not in registered: problems.append(f"exercise {name!r} has no check: `@exercise('{nn}', '{name}')` in helpers/exercises.py")
        if name not in funcs: problems.append(f"exercise {name!r} has no reference solution: `def {name}` in solutions/ex_{nn}.py")
        if name not in wrong: problems.append(f"exercise {name!r} has no wrong answer its check must refuse: `WRONG = {{'{name}': [...]}}` in solutions/ex_{nn}.py")
    for name in sorted(registered - calls):
        problems.append(f"helpers/exercises.py registers exercise {name!r} for lecture {nn}, but no cell of the lecture checks it")
    as_committed = committed(path)
    for i, c in enumerate(as_committed.cells):
        if c.cell_type == 'code' and any(lec == nn for lec, _ in _CHECK_CALL.findall(c.source)):
            out = ''.join(o.get('text', '') for o in c.get('outputs', []))
            if not out.startswith('not yet solved'):
                problems.append(f"{cell_ref(as_committed, i)}, a check cell, must be committed unsolved (its output "
                                f"'not yet solved: …'), not {out[:60]!r}: keep answers out of the lecture")
    return problems


def readme_problems(path: Path, root: Path = REPO) -> list[str]:
    "The lecture's rows in the README: its lecture-table row (link and Colab badge) and its run-time row."
    nn, readme, problems = path.name[:2], (root/'README.md').read_text(), []
    row = next((l for l in readme.splitlines() if l.startswith(f'| {nn} | [')), None)
    link, badge = f'](nbs/{path.name})', f'({setup_cell.colab_url(path.name)})'
    if row is None or link not in row or badge not in row:
        problems.append(f"no README row `| {nn} | [Title](nbs/{path.name}) | what it teaches | {setup_cell.badge(path.name)} |` "
                        "in the lecture table")
    if not re.search(rf'^\| {nn} \| {re.escape(path.stem)} \|', readme, re.M):
        problems.append(f"no README run-time row for {path.stem}: run `python -m tools.run_course {nn} --times`")
    return problems


def course_problems(root: Path = REPO) -> list[str]:
    "What the course as a whole lacks: lectures numbered 00, 01, … without gaps, the README naming the newest module."
    paths = lecture_paths(nbs=root/'nbs')
    problems = [f"lectures must be numbered 00, 01, … without gaps or repeats; found {[p.name[:2] for p in paths]}"] \
        if [p.name[:2] for p in paths] != [f'{i:02d}' for i in range(len(paths))] else []
    odd = sorted(p.name for p in (root/'nbs').glob('[0-9][0-9]*.ipynb')  # a learner's copy (JupyterLab: '…-Copy1') is fine
                 if not LECTURE_NAME.fullmatch(p.name) and not re.search(r'-Copy\d*\.ipynb$', p.name))
    if odd: problems.append(f"notebooks in nbs/ named like lectures but not `NN_lowercase_name.ipynb`, so not taken as lectures: {odd}")
    newest = f"`from exp.nb_{paths[-1].name[:2]} import *` (the newest module)" if paths else ''
    if newest not in (root/'README.md').read_text():
        problems.append(f"the README must name the newest module, as {newest}")
    return problems


def main(argv=None) -> int:
    found = course_problems() + [f"{p.name}: {x}" for p in lecture_paths() for x in lecture_problems(p)]
    print('\n'.join(found) or 'every lecture keeps every rule')
    return 1 if found else 0


if __name__ == '__main__': sys.exit(main())
