"""The course's export command: regenerate `exp/` from the lectures' `#| export` cells, and never leave it broken.

    python -m tools.export         # or: make export

1. Every `#| export` cell of every notebook in `nbs/` is compiled (with the notebook and the cell as its file name).
   On a syntax error it names the notebook, the cell and the line, exits with status 1 and leaves `exp/` byte for byte
   as it was.
2. Then it runs nbdev-export (without IN_TEST in its environment: with it, nbdev-export silently does nothing).
3. Then every regenerated module is imported, in lecture order, in a fresh Python: an error at import time (a name
   that is not defined, a failing call) is named by notebook, cell and line too.
4. In this repository, the editors' part of the `helpers` topic modules is rewritten to match (tools/topics.py).
If step 2 or 3 fails, `exp/` is restored from a copy taken just before, and the status is 1. Cells are named as every
course tool names them (`tools.notebooks.cell_ref`): 'cell 18 of 85 (id 38e95c7b)'.
"""
from __future__ import annotations
import argparse, json, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

import nbformat

from tools import topics
from tools.notebooks import REPO, cell_ref

_DIRECTIVE = re.compile(r'^#\|\s*(\S+)')
_EXPORTS = {'export', 'exporti', 'exports'}


class ExportError(Exception):
    "An export the command refused or undid; the message names the notebook, the cell and the line where it can."


def notebooks(root: Path) -> list[Path]:
    "The notebooks nbdev-export reads under `root/nbs` (names starting with '_' or '.' and checkpoint folders skipped)."
    return sorted(p for p in (root/'nbs').rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(root/'nbs').parts))


def _directives(src: str) -> set[str]:
    return {m[1] for line in src.splitlines() if (m := _DIRECTIVE.match(line.strip()))}


def check_cells(root: Path = REPO) -> int:
    "Compile every export cell under `root/nbs`; an ExportError naming notebook, cell and line for the first that fails. Returns the count."
    n = 0
    for path in notebooks(root):
        rel = path.relative_to(root)
        try: nb = nbformat.read(path, as_version=4)
        except Exception as e:
            raise ExportError(f"{rel} is not a notebook nbformat can read ({type(e).__name__}: {e}). Restore it from git "
                              "(`git diff` shows what changed); exp/ was not touched.") from None
        cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == 'code' and _directives(c.source) & _EXPORTS]
        if cells and not any('default_exp' in _directives(c.source) for c in nb.cells if c.cell_type == 'code'):
            raise ExportError(f"{rel} has export cells but no `#| default_exp` cell naming its module; exp/ was not touched.")
        for i, c in cells:
            where = f"{rel}, {cell_ref(nb, i)}"
            try: compile(c.source, where, 'exec')
            except SyntaxError as e:
                line = (e.text or '').rstrip('\n')
                raise ExportError(f"{where}, line {e.lineno}: {type(e).__name__}: {e.msg}\n    {line.strip()}\n"
                                  "exp/ was not touched; fix that cell and export again.") from None
            n += 1
    return n


# Imports the modules named on its command line in order; on the first error prints where it happened as JSON.
_PROBE = """
import importlib, json, sys, traceback
for stem in sys.argv[1:]:
    try: importlib.import_module('exp.' + stem)
    except BaseException as e:
        frames = [(f.filename, f.lineno) for f in traceback.extract_tb(e.__traceback__)]
        if isinstance(e, SyntaxError): frames.append((e.filename, e.lineno))
        print(json.dumps({'module': stem, 'error': f'{type(e).__name__}: {e}', 'frames': frames}))
        sys.exit(1)
"""
_CELL_MARK = re.compile(r'^# %% (\S+\.ipynb) #(\S+)')  # nbdev's line above each exported cell: notebook and cell id


def _where(root: Path, filename: str, lineno: int) -> str:
    "Notebook, cell and line of line `lineno` of module `filename` (via nbdev's cell marks), or '' if it is not in exp/."
    module = Path(filename)
    if module.parent.resolve() != (root/'exp').resolve() or not module.is_file(): return ''
    lines = module.read_text().splitlines()
    mark = next((m for l in reversed(lines[:lineno - 1]) if (m := _CELL_MARK.match(l))), None)
    if mark is None: return f"exp/{module.name}, line {lineno}"
    path = (root/'exp'/mark[1]).resolve()
    nb = nbformat.read(path, as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if c.get('id') == mark[2])
    text = lines[lineno - 1].strip()
    k = next((k for k, l in enumerate(nb.cells[i].source.splitlines(), 1) if l.strip() == text), None)
    return f"{path.relative_to(root.resolve())}, {cell_ref(nb, i)}" + (f", line {k}" if k else '') + f"\n    {text}"


IMPORT_TIMEOUT_S = 600  # importing every module takes seconds; longer means an export cell trains or downloads


def import_modules(root: Path = REPO) -> int:
    "Import `root/exp`'s modules in lecture order in a fresh Python; an ExportError naming notebook, cell and line for the first that fails."
    stems = sorted(p.stem for p in (root/'exp').glob('nb_*.py'))
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    env.update(PYTHONPATH=str(root), MPLBACKEND='Agg', PYTHONDONTWRITEBYTECODE='1')
    try: r = subprocess.run([sys.executable, '-c', _PROBE, *stems], cwd=root, env=env, capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ExportError(f"importing exp/ did not finish in {IMPORT_TIMEOUT_S} s: an export cell runs something long at import "
                          "(training, a download?); keep such code out of `#| export` cells. exp/ was restored as it was before.") from None
    if r.returncode:
        try: fail = json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            raise ExportError(f"importing exp/ failed:\n{(r.stdout + r.stderr)[-2000:]}") from None
        where = next((w for f, l in reversed(fail['frames']) if (w := _where(root, f, l))), f"exp/{fail['module']}.py")
        raise ExportError(f"exp/{fail['module']}.py fails on import: {fail['error']}\n  at {where}\n"
                          "exp/ was restored as it was before; fix that cell and export again.")
    return len(stems)


def export(root: Path = REPO) -> int:
    "Check every export cell, run nbdev-export in `root`, import every module; restores `exp/` if a step fails. The number of cells checked."
    n = check_cells(root)
    exp, tool = root/'exp', Path(sys.executable).parent/'nbdev-export'
    if not tool.is_file():
        raise ExportError(f"nbdev-export is not installed beside {sys.executable}: run `make export` (the course's .venv), "
                          "or install nbdev for this Python. exp/ was not touched.")
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}  # IN_TEST turns nbdev-export into a silent no-op
    with tempfile.TemporaryDirectory() as tmp:
        backup = Path(tmp)/'exp'
        shutil.copytree(exp, backup, symlinks=True)
        try:
            r = subprocess.run([str(tool)], cwd=root, env=env, capture_output=True, text=True)
            if r.returncode:
                out = (r.stdout + r.stderr).strip().splitlines()
                raise ExportError("nbdev-export failed; exp/ was restored as it was before. Its last lines:\n  " + '\n  '.join(out[-4:]))
            import_modules(root)
        except BaseException:  # an ExportError, and also Ctrl-C or anything unforeseen: exp/ is never left half-made
            shutil.rmtree(exp, ignore_errors=True)
            shutil.copytree(backup, exp, symlinks=True)
            raise
    if root.resolve() == REPO.resolve(): topics.write(root)
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python -m tools.export', description=__doc__.split('\n')[0])
    p.add_argument('--root', type=Path, default=REPO, help="the repository to export (default: this one)")
    a = p.parse_args(argv)
    try: n = export(a.root)
    except ExportError as e:
        print(f"export: {e}", file=sys.stderr)
        return 1
    print(f"export: {n} export cells compiled; exp/ regenerated from {len(notebooks(a.root))} notebooks, every module imported")
    return 0


if __name__ == '__main__': sys.exit(main())
