"""The single execution of the lectures (tools/pytest_lectures.py, `pytest nbs --nbval-lax --lectures`): a broken
lecture fails once, naming notebook and cell, and the lecture checks find what a learner would see."""
import os, re, subprocess, sys
import nbformat
from tools.notebooks import NB_METADATA, REPO
from tools.pytest_lectures import snapshot


def notebook(path, *sources):
    nb = nbformat.v4.new_notebook(metadata=NB_METADATA, cells=[nbformat.v4.new_markdown_cell('# t')] +
                                  [nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return nb


def run_pytest(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, '-m', 'pytest', '-p', 'tools.pytest_lectures', '-p', 'no:cacheprovider',
                        '--rootdir', str(tmp_path), '--nbval-lax', *args], cwd=tmp_path, env=env, capture_output=True, text=True)
    return r.returncode, re.sub(r'\x1b\[[0-9;]*m', '', r.stdout + r.stderr)  # no terminal colours


def test_a_broken_lecture_fails_once_naming_notebook_and_cell(tmp_path):
    bad = notebook(tmp_path/'bad.ipynb', 'x = 1', 'raise ValueError("boom")', 'print("never")')
    noisy = notebook(tmp_path/'noisy.ipynb', 'print("/home/alice/data")',
                     'import sys; sys.stderr.write(" 0%|   | 0/2\\r100%|###| 2/2\\n")', 'print("fine")')
    status, out = run_pytest(tmp_path, '--lectures', '-rfs', 'bad.ipynb', 'noisy.ipynb')
    assert status == 1 and '2 failed, 4 passed, 2 skipped' in out, out[-3000:]
    assert f"bad.ipynb, cell 3 of 4 (id {bad.cells[2].id}) failed (nbval's Cell 1); the notebook's later cells are skipped." in out
    assert 'ValueError: boom' in out and out.count('FAILED bad.ipynb') == 1 and 'FAILED bad.ipynb::Cell 1' in out
    assert "SKIPPED [1] bad.ipynb: bad.ipynb, cell 3 of 4" in out and '(reported there)' in out  # the next cell, the checks
    assert f"noisy.ipynb:\n  cell 2 of 4 (id {noisy.cells[1].id}): shows a machine path: ...'/home/alice/data" in out
    assert f"cell 3 of 4 (id {noisy.cells[2].id}): prints a text progress bar" in out


def test_without_the_option_nbval_is_plain_nbval(tmp_path):
    "No lecture checks and no skipping: what nbval users expect from `pytest --nbval-lax`."
    notebook(tmp_path/'bad.ipynb', 'x = 1', 'raise ValueError("boom")', 'print("runs anyway")')
    status, out = run_pytest(tmp_path, '-q', 'bad.ipynb')
    assert status == 1 and '1 failed, 2 passed' in out and 'lecture checks' not in out, out[-3000:]


def test_the_snapshot_holds_the_working_tree_and_leaves_the_checkout_alone(tmp_path):
    "Changed and new (not ignored) files are in the snapshot; the checkout's index and objects are not touched."
    repo = tmp_path/'repo'
    git = lambda *a, cwd=repo: subprocess.run(['git', *a], cwd=cwd, check=True, capture_output=True, text=True).stdout
    repo.mkdir()
    git('init', '-q')
    (repo/'.gitignore').write_text('ignored.txt\n')
    (repo/'a.txt').write_text('committed\n')
    git('add', '.'); git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one')
    (repo/'a.txt').write_text('changed\n'); (repo/'new.txt').write_text('new\n'); (repo/'ignored.txt').write_text('no\n')
    objects = sorted(p.relative_to(repo) for p in (repo/'.git'/'objects').rglob('*'))
    index = (repo/'.git'/'index').read_bytes()
    snapshot(repo, tmp_path/'bare.git', 'main')
    git('clone', '-q', '--depth', '1', '--branch', 'main', f"file://{tmp_path/'bare.git'}", str(tmp_path/'clone'), cwd=tmp_path)
    clone = tmp_path/'clone'
    assert (clone/'a.txt').read_text() == 'changed\n' and (clone/'new.txt').read_text() == 'new\n'
    assert not (clone/'ignored.txt').exists()
    assert sorted(p.relative_to(repo) for p in (repo/'.git'/'objects').rglob('*')) == objects
    assert (repo/'.git'/'index').read_bytes() == index and 'new.txt' in git('status', '--porcelain')
