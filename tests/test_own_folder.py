"""The course from a learner's own folder, as the README says: `make kernel` registers the course's .venv as a Jupyter
kernel, and a notebook in any folder that uses that kernel imports `exp` and `helpers` and reads the course's data."""
import re, shlex, subprocess, sys
import nbformat
from tools.notebooks import NB_METADATA, REPO, execute


def kernel_command() -> list[str]:
    "The recipe of `make kernel`, read from the Makefile, with this interpreter as $(PY)."
    recipe = re.search(r'^kernel:.*\n\t(.+)$', (REPO/'Makefile').read_text(), re.M).group(1)
    return shlex.split(recipe.replace('$(PY)', sys.executable))


def test_a_notebook_outside_the_repository_uses_the_course(tmp_path, monkeypatch):
    monkeypatch.setenv('JUPYTER_DATA_DIR', str(tmp_path/'jupyter'))  # `--user` installs here: the real one is untouched
    r = subprocess.run(kernel_command(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    name = kernel_command()[kernel_command().index('--name') + 1]
    assert (tmp_path/'jupyter'/'kernels'/name/'kernel.json').is_file()
    newest = sorted(p.stem for p in (REPO/'exp').glob('nb_*.py'))[-1]
    own = tmp_path/'my-notes'
    own.mkdir()
    nb = nbformat.v4.new_notebook(metadata={**NB_METADATA, 'kernelspec': {**NB_METADATA['kernelspec'], 'name': name}}, cells=[
        nbformat.v4.new_code_cell(f"from exp.{newest} import *\nfrom helpers.training import Learner, MetricsCB\n"
                                  "x_train, y_train, x_valid, y_valid = get_data('embedded')\n"
                                  "learn = Learner(MLP(), *get_dls(Dataset(x_train, y_train), Dataset(x_valid, y_valid), 64), cbs=[MetricsCB()])\n"
                                  "learn.fit(1)\nprint(repo_root() == __import__('pathlib').Path(%r))" % str(REPO))])
    nbformat.write(nb, own/'mine.ipynb')
    done, _, err = execute(own/'mine.ipynb', timeout=300, kernel=name)
    assert err is None, err
    assert done.cells[0].outputs[-1].text.strip().endswith('True'), done.cells[0].outputs
