"The lectures: committed format, and execution of every notebook in quick mode with nbdev-test."
import json, os, re, subprocess, sys
from pathlib import Path
import nbformat, pytest
from tools.notebooks import REPO, LEAK, NB_METADATA, SETUP_METADATA, lecture_paths

LECTURES = lecture_paths()


@pytest.mark.parametrize('path', LECTURES, ids=lambda p: p.stem)
def test_committed_format(path):
    nb = json.loads(path.read_text())
    assert nb['metadata'] == NB_METADATA, \
        f"{path.name}: notebook metadata must be what JupyterLab writes on open ({NB_METADATA}); run `python -m tools.setup_cell`"
    ids = [c.get('id') for c in nb['cells']]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: every cell needs a unique id"
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    nn = path.name[:2]
    assert ''.join(code[0]['source']).strip() == f'#| default_exp nb_{nn}' or \
        any(''.join(c['source']).strip() == f'#| default_exp nb_{nn}' for c in code[:2]), f"{path.name}: needs `#| default_exp nb_{nn}`"
    for i, c in enumerate(nb['cells']):
        if i == 1: assert c['metadata'] == SETUP_METADATA, f"{path.name}: the set-up cell's metadata must be {SETUP_METADATA}"
        else: assert not c['metadata'], f"{path.name} cell {i}: cell metadata should be empty"
        src = ''.join(c['source'])
        assert not re.search(r'^#\s*export', src, re.M) or re.search(r'^#\| export', src, re.M), \
            f"{path.name} cell {i}: legacy '#export' marker — nbdev 3 silently ignores it; write '#| export'"
        if c['cell_type'] == 'code':
            assert c['outputs'] == [] or c['execution_count'] is not None, \
                f"{path.name} cell {i}: outputs without an execution count (nbval rejects them; re-run `make course`, not nbdev-clean)"
            assert not any(o['output_type'] == 'error' for o in c['outputs']), f"{path.name} cell {i}: committed with an error"
    assert any(c['outputs'] for c in code), f"{path.name}: committed without outputs — run `make course`"
    m = LEAK.search(path.read_text())
    assert not m, f"{path.name}: machine path {m.group(0)!r} in the committed notebook"


def test_nbdev_test_runs_every_lecture():
    "nbdev-test executes every lecture in order (quick mode, embedded data); its output names a failing notebook."
    env = dict(os.environ, DLF_QUICK='1', DLF_DATASET='embedded', DLF_OFFLINE='1', OMP_NUM_THREADS='2')
    exe = Path(sys.executable).parent/'nbdev-test'
    r = subprocess.run([str(exe), '--n-workers', '0', '--do-print'], cwd=REPO, env=env, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and 'Success' in out, f"nbdev-test failed:\n{out[-6000:]}"
    completed = [l.split('Completed ', 1)[1].strip() for l in out.splitlines() if l.startswith('- Completed ')]
    assert [Path(c).name for c in completed] == [p.name for p in LECTURES], f"nbdev-test did not run every lecture, in order:\n{out[-2000:]}"
