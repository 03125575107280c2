"The main job's pieces: executing a notebook, naming the failing cell, cleaning, problems in outputs, run times, set-up."
import hashlib, os, shutil, subprocess
import nbformat, pytest
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell
from tools.notebooks import REPO, execute, clean_notebook, notebook_problems, failed_cell, lecture_paths, KERNELSPEC, LANGUAGE_INFO, NB_METADATA, SETUP_METADATA
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
    assert err == f"cell 3 of 4 (id {nb.cells[2].id}): ValueError: boom" and failed_cell(nb)[0] == 2
    assert nb.cells[3].outputs == []


def test_output_problems_found(tmp_path):
    "Machine paths, printed tracebacks, tqdm warnings and text bars in outputs are found and named by cell."
    p = write_nb(tmp_path/'c.ipynb', 'print("/home/alice/x.py")', 'print("data/x.png")', r'print(r"C:\Users\bob\x.png")',
                 'import traceback\ntry: 1/0\nexcept ZeroDivisionError: traceback.print_exc()',
                 'import sys; print("TqdmWarning: IProgress not found", file=sys.stderr)',
                 'import sys; sys.stderr.write(" 0%|     | 0/2\\r 50%|##   | 1/2\\r100%|#####| 2/2\\n")',
                 'print("100% sure | no bar here"); print("epoch 1 done")')
    nb, _, _ = execute(p)
    found = notebook_problems(nb)
    n = len(nb.cells)
    expected = [(2, "shows a machine path: ...'/home/alice"), (4, "shows a machine path: ...'C:\\\\Users"),
                (5, 'prints a traceback (ZeroDivisionError: division by zero)'),
                (5, "shows a machine path: ...'ceback (most recent call last)"), (6, "prints a tqdm warning ('TqdmWarning'"),
                (7, 'prints a text progress bar')]
    assert len(found) == len(expected), found
    for f, (i, what) in zip(found, expected):
        assert f.startswith(f'cell {i} of {n} (id {nb.cells[i - 1].id}): {what}'), (f, what)


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


def test_make_course_downloads_only_when_asked():
    "The README's decision, true in the Makefile: `make course` runs offline; `make course DOWNLOAD=1` may download."
    dry = lambda *a: subprocess.run(['make', '-n', '-W', 'requirements-dev.txt', 'course', *a], cwd=REPO, capture_output=True, text=True).stdout
    run = lambda out: next(l for l in out.splitlines() if 'tools.run_course' in l)
    assert 'DLF_OFFLINE=1 ' in run(dry()) and '--times' in run(dry())
    assert 'DLF_OFFLINE=0 ' in run(dry('DOWNLOAD=1'))


def test_setup_reinstalls_only_when_its_inputs_change(tmp_path):
    "The set-up stamp holds a digest of requirements-dev.txt and pyproject.toml: a newer file with the same content installs nothing."
    for f in ('Makefile', 'requirements-dev.txt', 'pyproject.toml'): shutil.copy(REPO/f, tmp_path/f)
    make = lambda: subprocess.run(['make', '.venv/.installed', 'PYTHON=false'], cwd=tmp_path, capture_output=True, text=True)
    (tmp_path/'.venv').mkdir()
    digest = hashlib.sha256((tmp_path/'requirements-dev.txt').read_bytes() + (tmp_path/'pyproject.toml').read_bytes()).hexdigest()
    (tmp_path/'.venv'/'.installed').write_text(digest + '\n')
    os.utime(tmp_path/'.venv'/'.installed', (0, 0))  # older than both inputs, as after a git checkout or nbdev's rewrite
    assert make().returncode == 0, "same content: only the stamp is refreshed (`false` as Python would fail an install)"
    assert (tmp_path/'.venv'/'.installed').stat().st_mtime > 0
    (tmp_path/'requirements-dev.txt').write_text((tmp_path/'requirements-dev.txt').read_text() + 'six==1.16.0\n')
    assert make().returncode != 0, "changed content: the set-up must install again (here with `false` as Python, so it fails)"


def test_write_times_fills_the_readme_table(tmp_path):
    (tmp_path/'nbs').mkdir()
    for p in lecture_paths()[:3]: shutil.copy(p, tmp_path/'nbs'/p.name)
    stems = [p.stem for p in lecture_paths()[:3]]
    readme = tmp_path/'README.md'
    readme.write_text(f"# x\n\n{run_course.TIMES_START}\n{run_course.TIMES_HEAD}\n| 00 | {stems[0]} | 9 s | 2 s | 2026-01-01, old |\n"
                      f"| 07 | 07_gone | 1 s | 1 s | x |\n{run_course.TIMES_END}\nafter\n")
    run_course.write_times({'default': {stems[1]: 12.4, stems[0]: 700.0}, 'quick': {stems[1]: 3.2}}, readme, '2026-12-03', '2-core x CPU, no GPU')
    table = readme.read_text().split(run_course.TIMES_START)[1].split(run_course.TIMES_END)[0].strip().splitlines()
    assert table[2:] == [f"| 00 | {stems[0]} | 11.7 min | 2 s | 2026-12-03, 2-core x CPU, no GPU |",
                         f"| 01 | {stems[1]} | 12 s | 3 s | 2026-12-03, 2-core x CPU, no GPU |",
                         "| | all lectures | 11.9 min | 5 s | |"]
    assert readme.read_text().endswith('after\n')



def test_lecture_numbers_are_two_digits_and_unique(tmp_path):
    from tools.notebooks import lecture_paths
    with pytest.raises(SystemExit, match="lecture '1': lecture numbers have two digits, e.g. 01"): lecture_paths(['1'])
    assert [p.name[:2] for p in lecture_paths(['01', '10'])] == ['01', '10']
    for name in ('03_minibatch_training.ipynb', '03_minibatch_training_mine.ipynb'): (tmp_path/name).write_text('{}')
    with pytest.raises(SystemExit, match="are both lecture 03 .*rename your copy to start with '_'"): lecture_paths(nbs=tmp_path)
