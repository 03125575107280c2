"The main job's pieces: executing a notebook, naming the failing cell, cleaning, leak detection."
import nbformat, pytest
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell
from tools.notebooks import execute, clean_notebook, leaks, failed_cell, lecture_paths, KERNELSPEC, LANGUAGE_INFO, NB_METADATA, SETUP_METADATA
from tools import run_course


def write_nb(path, *sources):
    nb = new_notebook(cells=[new_markdown_cell('# t')] + [new_code_cell(s) for s in sources])
    nb.metadata = {'kernelspec': {'name': 'python3', 'display_name': 'x'}, 'language_info': {'version': '3.11'}}
    nbformat.write(nb, path)
    return path


def test_execute_ok_and_clean(tmp_path):
    p = write_nb(tmp_path/'a.ipynb', 'class A: pass\nA()', 'print(6*7)')
    nb, secs, err = execute(p)
    assert err is None and secs > 0
    assert nb.cells[2].outputs[0].text == '42\n' and nb.cells[2].execution_count == 2
    assert ' at 0x' in nb.cells[1].outputs[0].data['text/plain']
    assert nb.metadata.language_info == LANGUAGE_INFO  # the kernel's own answer, which JupyterLab also writes on open
    nb.cells[1].metadata['execution'] = {'x': 1}
    clean_notebook(nb)
    assert nb.cells[1].outputs[0].data['text/plain'] == '<__main__.A>'
    assert nb.metadata == NB_METADATA
    assert all(c.metadata == {} for c in nb.cells)


def test_clean_keeps_only_the_setup_cells_metadata():
    nb = new_notebook(cells=[new_code_cell('#@title Set up\n# Course set-up (...)\nx = 1', metadata={'collapsed': True}),
                             new_code_cell('x = 2\ny = 3\n# Course set-up is mentioned here', metadata={'tags': ['remove-cell']})])
    clean_notebook(nb)
    assert nb.cells[0].metadata == SETUP_METADATA and nb.cells[1].metadata == {}
    nb.cells[0].metadata.tags.append('x')
    assert SETUP_METADATA['tags'] == ['remove-cell']  # each notebook gets its own copy


def test_kernelspec_is_the_installed_kernels():
    "JupyterLab writes the kernel's display name on open; the committed kernelspec must already say the same."
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec(KERNELSPEC['name'])
    assert (spec.display_name, spec.language) == (KERNELSPEC['display_name'], KERNELSPEC['language'])


def test_clean_joins_split_streams(tmp_path):
    p = write_nb(tmp_path/'s.ipynb', 'import sys, time\nprint("a", flush=True); time.sleep(0.3)\n'
                                      'print("b", file=sys.stderr, flush=True); time.sleep(0.3)\nprint("c", flush=True); time.sleep(0.3)\nprint("d")')
    nb, _, err = execute(p)
    assert err is None and len(nb.cells[1].outputs) >= 3  # the kernel sent the stdout in pieces
    clean_notebook(nb)
    assert [(o.name, o.text) for o in nb.cells[1].outputs] == [('stdout', 'a\n'), ('stderr', 'b\n'), ('stdout', 'c\nd\n')]


def test_execute_names_failing_cell(tmp_path):
    p = write_nb(tmp_path/'b.ipynb', 'x = 1', 'raise ValueError("boom")', 'print("never")')
    nb, _, err = execute(p)
    assert err == "cell 2: ValueError: boom" and failed_cell(nb)[0] == 2
    assert nb.cells[3].outputs == []


def test_leaks_found(tmp_path):
    p = write_nb(tmp_path/'c.ipynb', 'print("/home/alice/x.py")', 'print("data/x.png")', r'print(r"C:\Users\bob\x.png")')
    nb, _, _ = execute(p)
    found = leaks(nb)
    assert len(found) == 2 and found[0].startswith('cell 1') and found[1].startswith('cell 3')


def test_lecture_selection():
    assert [p.name[:2] for p in lecture_paths(['01'])] == ['01']
    with pytest.raises(SystemExit, match='No lecture matches'): lecture_paths(['99'])
    with pytest.raises(SystemExit): run_course.main(['--help'])


def test_quick_mode_runs_but_never_rewrites_lectures(capsys):
    "DLF_QUICK=1 (set by the test command) is enough: the lecture runs, is labelled quick, and stays as committed."
    path = lecture_paths(['00'])[0]
    before = path.read_bytes()
    assert run_course.main(['00', '--no-export']) == 0
    out = capsys.readouterr().out
    assert '(quick mode' in out and '00_exports' in out and ' ok ' in out
    assert path.read_bytes() == before
