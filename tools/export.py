"""The course's export command: regenerate `exp/` from the lectures' `#| export` cells, and never leave it broken.

    python -m tools.export         # or: make export

1. Every `#| export` cell of every notebook in `nbs/` is compiled (with the notebook and the cell as its file name).
   On a syntax error it names the notebook, the cell (id and position) and the line, exits with status 1 and leaves
   `exp/` byte for byte as it was.
2. Then it runs nbdev-export (without IN_TEST in its environment: with it, nbdev-export silently does nothing). Should
   that fail anyway, `exp/` is restored from a copy taken just before, and the status is 1.
"""
from __future__ import annotations
import argparse, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

import nbformat

from tools.notebooks import REPO

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
        cells = [(i, c) for i, c in enumerate(nb.cells, 1) if c.cell_type == 'code' and _directives(c.source) & _EXPORTS]
        if cells and not any('default_exp' in _directives(c.source) for c in nb.cells if c.cell_type == 'code'):
            raise ExportError(f"{rel} has export cells but no `#| default_exp` cell naming its module; exp/ was not touched.")
        for i, c in cells:
            where = f"{rel}, cell {i} of {len(nb.cells)} (id {c.get('id', '?')})"
            try: compile(c.source, where, 'exec')
            except SyntaxError as e:
                line = (e.text or '').rstrip('\n')
                raise ExportError(f"{where}, line {e.lineno}: {type(e).__name__}: {e.msg}\n    {line.strip()}\n"
                                  "exp/ was not touched; fix that cell and export again.") from None
            n += 1
    return n


def export(root: Path = REPO) -> int:
    "Check every export cell, then run nbdev-export in `root`, restoring `exp/` if it fails; the number of cells checked."
    n = check_cells(root)
    exp = root/'exp'
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}  # IN_TEST turns nbdev-export into a silent no-op
    with tempfile.TemporaryDirectory() as tmp:
        backup = Path(tmp)/'exp'
        shutil.copytree(exp, backup, symlinks=True)
        r = subprocess.run([str(Path(sys.executable).parent/'nbdev-export')], cwd=root, env=env, capture_output=True, text=True)
        if r.returncode:
            shutil.rmtree(exp)
            shutil.copytree(backup, exp, symlinks=True)
            out = (r.stdout + r.stderr).strip().splitlines()
            raise ExportError("nbdev-export failed; exp/ was restored as it was before. Its last lines:\n  " + '\n  '.join(out[-4:]))
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog='python -m tools.export', description=__doc__.split('\n')[0])
    p.add_argument('--root', type=Path, default=REPO, help="the repository to export (default: this one)")
    a = p.parse_args(argv)
    try: n = export(a.root)
    except ExportError as e:
        print(f"export: {e}", file=sys.stderr)
        return 1
    print(f"export: {n} export cells compiled; exp/ regenerated from {len(notebooks(a.root))} notebooks")
    return 0


if __name__ == '__main__': sys.exit(main())
