"""Write or refresh the first cells of every lecture (the "Open in Colab" badge and the set-up cell) and its metadata.

    python -m tools.setup_cell           # rewrite nbs/NN_*.ipynb where they differ
    python -m tools.setup_cell --check   # exit 1 and name the lectures whose cells or metadata are missing or stale

Only the first two cells and the metadata (notebook-level, and cells' as `tools.notebooks.clean_metadata` rules) are
rewritten; outputs stay as they are, so no lecture is re-executed.

The set-up cell is identical in every lecture and collapsed (its metadata: JupyterLab's `source_hidden`, Colab's form
view under the `#@title` line, and a `remove-cell` tag that keeps it off the website). In Colab it clones the course
at the repository and branch named in settings.ini into the session (once; a re-run reuses the clone), installs only
packages the runtime lacks — with every package it has pinned, so pip never replaces Colab's torch and no restart is
needed — puts the course on `sys.path` and moves into the clone's `nbs/`, where lectures run locally too. Locally it
finds the repository root above the notebook's folder. Both ways it also sets PYTHONPATH, so shell commands like
`!python -m helpers.train` find the course too. DLF_REPO_URL and DLF_COURSE_DIR override the clone's source and
place (the tests point them at a local bare clone).
"""
from __future__ import annotations
import argparse, copy, sys

import nbformat

from exp.nb_00 import course_settings
from tools.notebooks import MARKER, clean_metadata, is_setup_cell, lecture_paths

BADGE_IMG = 'https://colab.research.google.com/assets/colab-badge.svg'
# The first line: the collapsed cell's title in Colab's form view and in JupyterLab (where it must fit on one line).
TITLE = '#@title Set up the course: in Colab fetch it and install what is missing, locally find it'
# import name -> distribution name, for everything in pyproject's dependencies (a test keeps the two in step)
MODULES = {'torch': 'torch', 'torchvision': 'torchvision', 'numpy': 'numpy', 'pandas': 'pandas',
           'matplotlib': 'matplotlib', 'PIL': 'pillow', 'tqdm': 'tqdm', 'sklearn': 'scikit-learn',
           'mlxtend': 'mlxtend', 'yaml': 'pyyaml', 'ipywidgets': 'ipywidgets'}

TEMPLATE = '''\
{title}
{marker} (the same in every lecture; written by `python -m tools.setup_cell` from settings.ini, do not edit).
import importlib.metadata, importlib.util, os, subprocess, sys, tempfile
from pathlib import Path

def _course_root(user={user!r}, repo={repo!r}, branch={branch!r}):
    try: import google.colab  # importable only inside Colab
    except ImportError:
        here = Path.cwd().resolve()
        root = next((d for d in [here, *here.parents] if (d/'settings.ini').is_file() and (d/'exp').is_dir()), None)
        if root is None: raise RuntimeError(f"No course repository above {{here}}: open the lectures from the repository's nbs/ folder.")
        return root
    root = Path(os.environ.get('DLF_COURSE_DIR', f'/content/{{repo}}'))
    if not (root/'settings.ini').is_file():
        url = os.environ.get('DLF_REPO_URL', f'https://github.com/{{user}}/{{repo}}.git')
        subprocess.run(['git', 'clone', '--quiet', '--depth', '1', '--branch', branch, url, str(root)], check=True)
    modules = {modules!r}
    missing = [dist for mod, dist in modules.items() if importlib.util.find_spec(mod) is None]
    if missing:  # pin what the runtime has, so pip only adds packages and never replaces Colab's torch, numpy or pandas
        pins = Path(tempfile.gettempdir())/'dlf-constraints.txt'
        pins.write_text(''.join(f'{{d}}=={{importlib.metadata.version(d)}}\\n' for d in modules.values() if d not in missing))
        if subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '-c', str(pins), *missing]).returncode:
            raise RuntimeError(f"pip could not install {{' '.join(missing)}} beside this runtime's packages ({{pins}}); "
                               "install them by hand and run this cell again.")
    os.chdir(root/'nbs')  # where lectures run locally too: their relative paths (../settings, results/) work the same
    return root

_root = str(_course_root())
if _root not in sys.path: sys.path.insert(0, _root)
os.environ['PYTHONPATH'] = os.pathsep.join(dict.fromkeys([_root, *filter(None, os.environ.get('PYTHONPATH', '').split(os.pathsep))]))'''


def setup_source() -> str:
    "The set-up cell's source, with the repository coordinates from settings.ini."
    c = course_settings()['course']
    return TEMPLATE.format(title=TITLE, marker=MARKER, user=c['repo_user'], repo=c['repo_name'], branch=c['branch'], modules=MODULES)


def colab_url(nb_name: str) -> str:
    "The Colab address of lecture `nb_name` (e.g. '03_minibatch_training.ipynb') on the course's branch."
    c = course_settings()['course']
    return f"https://colab.research.google.com/github/{c['repo_user']}/{c['repo_name']}/blob/{c['branch']}/nbs/{nb_name}"


def badge(nb_name: str) -> str:
    "Markdown for the 'Open in Colab' badge of lecture `nb_name`."
    return f'[![Open In Colab]({BADGE_IMG})]({colab_url(nb_name)})'


def _is_badge(cell): return cell.cell_type == 'markdown' and cell.source.startswith('[![Open In Colab]')


def refresh(nb, nb_name: str) -> bool:
    "Make cells 0 and 1 the badge and the set-up cell (replacing old ones), give `nb` the committed metadata; changed?"
    state = lambda: copy.deepcopy([nb.metadata, [(c.cell_type, c.source, c.metadata) for c in nb.cells]])
    before = state()
    old = [c for c in nb.cells if _is_badge(c) or is_setup_cell(c)]
    ids = {('b' if _is_badge(c) else 's'): c.get('id') for c in old}
    count = next((c.execution_count for c in old if is_setup_cell(c)), None)
    nb.cells = [c for c in nb.cells if c not in old]
    b = nbformat.v4.new_markdown_cell(badge(nb_name)); b.id = ids.get('b') or 'colab-badge'
    s = nbformat.v4.new_code_cell(setup_source(), execution_count=count); s.id = ids.get('s') or 'course-setup'
    nb.cells[:0] = [b, s]
    clean_metadata(nb)
    return before != state()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Write or check the Colab badge, the set-up cell and the metadata of every lecture.")
    p.add_argument('--check', action='store_true', help="only check; exit 1 naming the lectures that are stale")
    a = p.parse_args(argv)
    stale = []
    for path in lecture_paths():
        nb = nbformat.read(path, as_version=4)
        if refresh(nb, path.name):
            stale.append(path.name)
            if not a.check: nbformat.write(nb, path)
    if a.check and stale:
        print(f"Set-up cell, badge or metadata missing or stale in: {', '.join(stale)}. Run `python -m tools.setup_cell`.", file=sys.stderr)
        return 1
    print(f"{'stale' if a.check else 'refreshed'}: {', '.join(stale) or 'none'}")
    return 0


if __name__ == '__main__': sys.exit(main())
