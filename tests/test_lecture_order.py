"""Lecture order holds for imports too: lecture NN's imports load no exp module after nb_NN, directly or through the
`helpers` topic modules (which load a lecture's module only when one of its names is used)."""
import ast, json, subprocess, sys
from IPython.core.inputtransformer2 import TransformerManager
from tools.notebooks import REPO, lecture_paths, name_homes

TOPICS = ['data', 'training', 'evaluation', 'plotting']
PROBE = "import sys; print(sorted(m for m in sys.modules if m.startswith('exp.nb_')))"


def loaded_after(steps: list) -> list:
    "Run each step's code in one fresh Python (cwd nbs/), in order; the exp modules loaded after each step."
    code = '\n'.join(f"{src}\n{PROBE}" for src in steps)
    r = subprocess.run([sys.executable, '-c', code], cwd=REPO/'nbs', capture_output=True, text=True,
                       env={'PYTHONPATH': str(REPO), 'MPLBACKEND': 'Agg', 'PATH': '/usr/bin:/bin'})
    assert r.returncode == 0, r.stderr[-3000:]
    return [eval(line) for line in r.stdout.splitlines() if line.startswith("['exp.") or line == '[]']


def lecture_imports(path) -> str:
    "Every import statement in the lecture's code cells (IPython magics turned into Python first)."
    tm, lines = TransformerManager(), []
    for cell in json.loads(path.read_text())['cells']:
        if cell['cell_type'] != 'code': continue
        tree = ast.parse(tm.transform_cell(''.join(cell['source'])))
        lines += [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and not getattr(n, 'level', 0)]
    # each on its own, as the set-up cell tries `import google.colab` and goes on without it outside Colab
    return '\n'.join(f"try: {line}\nexcept ImportError: pass" for line in lines)


def test_each_lecture_imports_only_earlier_lectures():
    paths = lecture_paths()  # in order: what lecture NN loads may include everything up to nb_NN
    loaded = loaded_after([lecture_imports(p) for p in paths])
    for path, mods in zip(paths, loaded):
        later = [m for m in mods if int(m[-2:]) > int(path.name[:2])]
        assert not later, f"{path.name}: its imports load {later}, later lectures it must not use (check its helpers imports)"


def test_topic_modules_load_a_lecture_only_when_one_of_its_names_is_used():
    import importlib
    where = name_homes()
    names = sorted((where[n], t, n) for t in TOPICS for n in importlib.import_module(f'helpers.{t}').__all__)
    loaded = loaded_after([f"from helpers.{t} import {n}" for _, t, n in names])
    for (stem, t, n), mods in zip(names, loaded):
        assert mods[-1] == f'exp.{stem}', f"helpers.{t}.{n} loaded {mods}: nothing after exp.{stem} may be imported"

