"""Every lecture starts cold in Colab and locally: set-up cell, badges, dependency ranges, a simulated Colab session.

Every lecture runs whole in a simulated Colab session in the test run itself (tools/pytest_lectures.py); here the set-up
cell — the same in every lecture — is run twice in one fresh session, and its install step is checked in-process."""
import importlib.metadata, importlib.util, os, re, subprocess, sys, tomllib, types
from pathlib import Path
import nbformat, pytest
from packaging.requirements import Requirement
from packaging.version import Version
from tools import setup_cell
from tools.notebooks import MARKER, NB_METADATA, REPO, SETUP_METADATA, lecture_paths
from tools.pytest_lectures import colab_session
from exp.nb_00 import course_settings

LECTURES = lecture_paths()
PYPROJECT = tomllib.loads((REPO/'pyproject.toml').read_text())
DEPS = {Requirement(d).name.lower(): Requirement(d) for d in PYPROJECT['project']['dependencies']}


def test_every_lecture_has_the_current_setup_cell_and_badge():
    assert setup_cell.main(['--check']) == 0
    for p in LECTURES:
        cells = nbformat.read(p, as_version=4).cells
        assert cells[0].source == setup_cell.badge(p.name) and cells[1].source == setup_cell.setup_source(), p.name
        assert cells[1].metadata == SETUP_METADATA, p.name


def test_setup_cell_is_collapsed_under_a_one_line_title():
    "Colab's form view and JupyterLab show the `#@title` line: one plain sentence that fits on one line."
    first, second = setup_cell.setup_source().splitlines()[:2]
    assert re.fullmatch(r'#@title [A-Z][^#\n]{20,92}', first) and not first.endswith('.'), first
    assert second.startswith(MARKER)


def test_check_names_a_lecture_with_stale_metadata(tmp_path, monkeypatch, capsys):
    src = LECTURES[0]
    nb = nbformat.read(src, as_version=4)
    nb.cells[1].metadata = {}
    nb.metadata.pop('language_info')
    copy = tmp_path/src.name
    nbformat.write(nb, copy)
    monkeypatch.setattr(setup_cell, 'lecture_paths', lambda: [copy])
    assert setup_cell.main(['--check']) == 1 and src.name in capsys.readouterr().err
    assert setup_cell.main([]) == 0 and setup_cell.main(['--check']) == 0
    fixed = nbformat.read(copy, as_version=4)
    assert fixed.cells[1].metadata == SETUP_METADATA and fixed.metadata == NB_METADATA
    assert [c.outputs for c in fixed.cells if c.cell_type == 'code'] == [c.outputs for c in nb.cells if c.cell_type == 'code']


def test_badge_links_point_at_their_notebooks():
    c = course_settings()['course']
    prefix = f"https://colab.research.google.com/github/{c['repo_user']}/{c['repo_name']}/blob/{c['branch']}/"
    for p in LECTURES:
        url = re.search(r'\]\((https://colab[^)]+)\)$', nbformat.read(p, as_version=4).cells[0].source).group(1)
        assert url == prefix + f'nbs/{p.name}' and (REPO/url[len(prefix):]).is_file()
    rows = [l for l in (REPO/'README.md').read_text().splitlines() if l.startswith('| ') and 'nbs/' in l]
    assert len(rows) == len(LECTURES), "the README's lecture table has a row with no lecture"  # each lecture's own row: tools/rules.py


def test_setup_modules_cover_the_dependencies():
    assert set(setup_cell.MODULES.values()) == set(DEPS)


@pytest.mark.parametrize('runtime', tomllib.loads((REPO/'tests'/'colab_versions.toml').read_text())['runtime'],
                         ids=lambda r: r['seen'])
def test_dependency_ranges_accept_colab(runtime):
    req_py = PYPROJECT['project']['requires-python']
    assert Requirement(f'python{req_py}').specifier.contains(runtime['python'])
    for name in ('torch', 'torchvision', 'numpy', 'pandas'):
        assert DEPS[name].specifier.contains(Version(runtime[name])), f"{name} {runtime[name]} (Colab, {runtime['seen']}) is outside {DEPS[name]}"


@pytest.fixture(scope='module')
def colab(tmp_path_factory):
    "A stand-in Colab session (tools.pytest_lectures.colab_session): the course served from a snapshot of this working tree."
    tmp = tmp_path_factory.mktemp('colab')
    return tmp, dict(os.environ, **colab_session(tmp))


FIT_ONE_EPOCH = '''
import importlib, sys
from pathlib import Path
newest = sorted(p.stem for p in (Path(_root)/'exp').glob('nb_*.py'))[-1]
m = importlib.import_module(f'exp.{newest}')
assert Path(m.__file__).resolve().is_relative_to(Path(_root).resolve()), m.__file__
assert sys.path.count(_root) == 1 and os.environ['PYTHONPATH'].split(os.pathsep).count(_root) == 1  # run twice, added once
import torch.nn.functional as F
x_train, y_train, x_valid, y_valid = m.get_data('embedded')
train_dl, valid_dl = m.get_dls(m.Dataset(x_train, y_train), m.Dataset(x_valid, y_valid), 64)
model, opt = m.get_model()
m.fit(1, model, F.cross_entropy, opt, train_dl, valid_dl)
print('COLAB-OK', newest)
'''


def test_setup_cell_run_twice_in_a_fresh_colab_session(colab):
    "The set-up cell (the same in every lecture) fetches the course once, is harmless when run again, and the newest module trains."
    tmp, env = colab
    src = setup_cell.setup_source()
    script = tmp/'session.py'
    script.write_text(src + '\n' + src + '\n' + FIT_ONE_EPOCH)  # the cell twice: a re-run must be harmless
    r = subprocess.run([sys.executable, str(script)], cwd=tmp/'content', env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'COLAB-OK' in r.stdout, r.stdout[-2000:] + r.stderr[-3000:]
    assert (tmp/'content'/'course'/'settings.ini').is_file()


def test_colab_installs_only_what_is_missing_and_pins_the_rest(tmp_path, monkeypatch):
    "The set-up cell's install step in Colab, run in-process: pip gets the missing package only, every other one pinned."
    course = tmp_path/'course'
    (course/'nbs').mkdir(parents=True); (course/'settings.ini').write_text('')  # an existing clone: no git clone
    monkeypatch.setenv('DLF_COURSE_DIR', str(course))
    monkeypatch.setenv('PYTHONPATH', os.environ.get('PYTHONPATH', ''))
    monkeypatch.setattr(sys, 'path', list(sys.path))
    monkeypatch.chdir(tmp_path)
    for name in ('google', 'google.colab'): monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'mlxtend' else real(name, *a))
    calls, status = [], [0]
    monkeypatch.setattr(subprocess, 'run', lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(cmd, status[0]))
    ns = {}
    exec(setup_cell.setup_source(), ns)
    [pip] = calls
    assert pip[:4] == [sys.executable, '-m', 'pip', 'install'] and pip[-1] == 'mlxtend'
    pins = Path(pip[pip.index('-c') + 1]).read_text().split()
    assert f"torch=={importlib.metadata.version('torch')}" in pins and f"numpy=={importlib.metadata.version('numpy')}" in pins
    assert len(pins) == len(setup_cell.MODULES) - 1 and not any(p.startswith('mlxtend') for p in pins)
    assert Path.cwd() == course/'nbs' and ns['_root'] == str(course)
    status[0] = 1  # pip fails: one clear sentence, not a CalledProcessError traceback
    with pytest.raises(RuntimeError, match='pip could not install mlxtend beside this runtime'): exec(setup_cell.setup_source(), {})
