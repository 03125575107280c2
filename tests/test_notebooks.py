"""The lectures as committed, and the two other ways of running them the course documents: plain nbval and nbdev-test.

`make test` executes every lecture once (tools/pytest_lectures.py); the two tests at the end prove, on lecture 00,
that `pytest --nbval-lax nbs/` (nbval users) and `nbdev-test` (nbdev maintainers) work as their users expect."""
import os, re, subprocess, sys
from pathlib import Path
import nbformat, pytest
from tools.notebooks import REPO, LEAK, NB_METADATA, SETUP_METADATA, cell_ref, lecture_paths, notebook_problems
from tools.rules import committed

LECTURES = lecture_paths()


@pytest.mark.parametrize('path', LECTURES, ids=lambda p: p.stem)
def test_committed_format(path):
    "The format nbval, nbdev and JupyterLab all accept, read as git would commit it (a learner's saved run does not fail it)."
    nb = committed(path)
    assert nb.metadata == NB_METADATA, \
        f"{path.name}: notebook metadata must be what JupyterLab writes on open ({NB_METADATA}); run `python -m tools.setup_cell`"
    ids = [c.get('id') for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: every cell needs a unique id"
    code = [c for c in nb.cells if c.cell_type == 'code']
    for i, c in enumerate(nb.cells):
        where = f"{path.name} {cell_ref(nb, i)}"
        if i == 1: assert c.metadata == SETUP_METADATA, f"{where}: the set-up cell's metadata must be {SETUP_METADATA}"
        else: assert not c.metadata, f"{where}: cell metadata should be empty"
        assert not re.search(r'^#\s*export', c.source, re.M) or re.search(r'^#\| export', c.source, re.M), \
            f"{where}: legacy '#export' marker — nbdev 3 silently ignores it; write '#| export'"
        if c.cell_type == 'code':
            assert c.outputs == [] or c.execution_count is not None, \
                f"{where}: outputs without an execution count (nbval rejects them; re-run `make course`, not nbdev-clean)"
    assert any(c.outputs for c in code), f"{path.name}: committed without outputs — run `make course`"
    problems = notebook_problems(nb)
    assert not problems, f"{path.name}:\n  " + '\n  '.join(problems)
    m = LEAK.search(nbformat.writes(nb))
    assert not m, f"{path.name}: machine path {m.group(0)!r} in the committed notebook"


def _env(): return dict(os.environ, DLF_QUICK='1', DLF_DATASET='embedded', DLF_OFFLINE='1')


def test_plain_nbval_runs_a_lecture():
    "`pytest --nbval-lax nbs/` as nbval users run it: each code cell a test, the NBVAL_CHECK_OUTPUT cells compared."
    lecture = LECTURES[0]
    n = sum(c.cell_type == 'code' for c in nbformat.read(lecture, as_version=4).cells)
    r = subprocess.run([sys.executable, '-m', 'pytest', '--nbval-lax', '-q', '-p', 'no:cacheprovider', str(lecture.relative_to(REPO))],
                       cwd=REPO, env=_env(), capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and f'{n} passed' in out and 'lecture checks' not in out, out[-3000:]


def test_nbdev_test_runs_a_lecture():
    "`nbdev-test` as nbdev maintainers run it (in-process, from nbs/); its output names the notebook it completed."
    lecture = LECTURES[0]
    exe = Path(sys.executable).parent/'nbdev-test'
    r = subprocess.run([str(exe), str(lecture.relative_to(REPO)), '--do-print'], cwd=REPO, env=_env(), capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and 'Success' in out and f'- Completed {lecture}' in out, out[-3000:]
