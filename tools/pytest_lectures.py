"""Each lecture executed once in the test run: a pytest plugin on top of nbval, switched on by `--lectures`.

    pytest tests nbs --nbval-lax --lectures -n 2 --dist loadfile     # what `make test` runs

nbval runs every notebook in a fresh kernel, one test item per code cell, and compares the cells marked
`# NBVAL_CHECK_OUTPUT` with their committed outputs. With `--lectures` that one execution also serves every other
check a lecture needs:

- **A simulated Colab session.** The kernels find a stand-in `google.colab` module, so each lecture's set-up cell
  takes its Colab branch: the first lecture clones the course (a snapshot of this working tree — committed files, their
  uncommitted changes and new files git does not ignore — served by a bare git repository in a temporary folder) into a
  fresh folder, and every later lecture finds that clone and reuses it, as a second lecture in one Colab session does.
  The lecture then runs from the clone's `nbs/`, so nothing it writes lands in this checkout.
- **The checks on what a learner sees**, made by one more item per notebook, `<notebook>::lecture checks`, from the
  outputs nbval recorded (`tools.notebooks.output_problems`): every code cell ran, no error or printed traceback, no
  machine path, no tqdm warning, no text progress bar.
- **One failure per broken lecture.** After a cell fails, the notebook's later cells are skipped, and the failure names
  the notebook and the cell as every course tool does ('cell 18 of 85 (id 38e95c7b)').

Without `--lectures`, `pytest --nbval-lax nbs/` is plain nbval.
"""
from __future__ import annotations
import os, shutil, subprocess, tempfile
from pathlib import Path

import pytest

from tools.notebooks import REPO, cell_ref, is_setup_cell, output_problems


def pytest_addoption(parser):
    parser.getgroup('nbval').addoption(
        '--lectures', action='store_true',
        help="with --nbval-lax: run each notebook as in a fresh Colab session and check every output (tools/pytest_lectures.py)")


def pytest_configure(config):
    if not config.getoption('lectures'): return
    if not (config.getoption('nbval') or config.getoption('nbval_lax')):
        raise pytest.UsageError("--lectures adds checks to nbval's execution of the notebooks: pass --nbval-lax too")
    config.pluginmanager.register(Lectures(), 'dlf-lectures')


def _git(*args, cwd: Path = REPO, env: dict = None) -> str:
    r = subprocess.run(['git', *args], cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"`git {' '.join(args)}` failed in {cwd}: {r.stderr.strip()}. The lectures' test run serves "
                           "the course to its simulated Colab sessions from git: run it in a git clone of the course.")
    return r.stdout.strip()


def snapshot(repo: Path, bare: Path, branch: str) -> str:
    """Make `bare` a bare git repository whose `branch` holds `repo`'s working tree as it is now (tracked files with
    their changes, and untracked files git does not ignore); `repo`'s own index and objects are left untouched."""
    _git('init', '-q', '--bare', str(bare))
    objects = (repo/_git('rev-parse', '--git-path', 'objects', cwd=repo)).resolve()
    (bare/'objects'/'info'/'alternates').write_text(f'{objects}\n')  # the bare repository reads the checkout's objects
    with tempfile.TemporaryDirectory() as d:  # and new objects are written into the bare one, with a temporary index
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(d)/'index'), GIT_OBJECT_DIRECTORY=str(bare/'objects'),
                   GIT_ALTERNATE_OBJECT_DIRECTORIES=str(objects),
                   GIT_AUTHOR_NAME='snapshot', GIT_AUTHOR_EMAIL='snapshot@localhost',
                   GIT_COMMITTER_NAME='snapshot', GIT_COMMITTER_EMAIL='snapshot@localhost')
        _git('add', '-A', cwd=repo, env=env)
        commit = _git('commit-tree', _git('write-tree', cwd=repo, env=env), '-m', 'working tree under test', cwd=repo, env=env)
    _git('update-ref', f'refs/heads/{branch}', commit, cwd=bare)
    _git('symbolic-ref', 'HEAD', f'refs/heads/{branch}', cwd=bare)
    return commit


def colab_session(tmp: Path) -> dict:
    """A stand-in Colab session in folder `tmp`: a `google.colab` module, and this working tree's snapshot as the
    course's git address; the environment a Python or a kernel needs to see it (the course goes to tmp/content/course)."""
    from exp.nb_00 import course_settings
    fake = tmp/'fake'/'google'/'colab'
    fake.mkdir(parents=True)
    for d in (fake.parent, fake): (d/'__init__.py').write_text('')
    snapshot(REPO, tmp/'course.git', course_settings()['course']['branch'])
    (tmp/'content').mkdir()
    return {'PYTHONPATH': os.pathsep.join(filter(None, [str(tmp/'fake'), os.environ.get('PYTHONPATH')])),
            'DLF_REPO_URL': f"file://{tmp/'course.git'}", 'DLF_COURSE_DIR': str(tmp/'content'/'course'),
            'PIP_NO_INDEX': '1', 'PIP_DISABLE_PIP_VERSION_CHECK': '1'}  # should the cell call pip: no network


class Lectures:
    "The plugin's state: the simulated Colab session, and what each notebook's cells did."

    def __init__(self):
        self.tmp = self.env = None
        self.runs = {}  # notebook node id -> NotebookRun

    def colab_env(self) -> dict:
        "The environment of every kernel: one simulated Colab session for the whole test run (made when first needed)."
        if self.env is None:
            self.tmp = Path(tempfile.mkdtemp(prefix='dlf-lectures-'))
            self.env = colab_session(self.tmp)
        return self.env

    @property
    def clone(self) -> Path: return Path(self.colab_env()['DLF_COURSE_DIR'])

    def pytest_unconfigure(self):
        if self.tmp: shutil.rmtree(self.tmp, ignore_errors=True)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        "After the cells of each notebook, one `lecture checks` item."
        out = []
        for item in items:
            out.append(item)
            if _is_cell(item):
                run = self.runs.setdefault(item.parent.nodeid, NotebookRun(item.parent))
                run.cells.append(item)
        for run in self.runs.values():
            out.insert(out.index(run.cells[-1]) + 1, LectureChecks.from_parent(run.file, name='lecture checks', run=run, plugin=self))
        items[:] = out

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        "The first cell of a notebook starts its kernel (nbval): start it in the simulated Colab session."
        if not (_is_cell(item) and item.parent.kernel is None):
            yield
            return
        saved = dict(os.environ)
        os.environ.update(self.colab_env())
        try: yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        "Record each cell's outputs; after a failing cell, name it and skip the notebook's later cells."
        rep = (yield).get_result()
        if not _is_cell(item): return
        run = self.runs[item.parent.nodeid]
        if rep.when == 'call' and rep.passed: run.outputs[item] = item.test_outputs
        if rep.failed and run.failed is None:
            run.failed = item
            where = f"{item.parent.path.name}, {run.ref(item)}"
            rep.longrepr = f"{where} failed (nbval's Cell {item.cell_num}); the notebook's later cells are skipped.\n{rep.longrepr}"
            for later in run.cells[run.cells.index(item) + 1:]:
                later.add_marker(pytest.mark.skip(reason=f"{where} failed before this cell"))


def _is_cell(item) -> bool:
    from nbval.plugin import IPyNbCell
    return isinstance(item, IPyNbCell)


class NotebookRun:
    "One notebook's cell items, the outputs of those that passed, and the first that failed."
    def __init__(self, file):
        self.file, self.cells, self.outputs, self.failed = file, [], {}, None

    def index(self, item) -> int: return next(i for i, c in enumerate(self.file.nb.cells) if c is item.cell)
    def ref(self, item) -> str: return cell_ref(self.file.nb, self.index(item))


class LectureProblems(Exception):
    "What the lecture checks found, one line each."


class LectureChecks(pytest.Item):
    "Checks on everything a notebook's one execution showed (see the module's docstring)."
    def __init__(self, *, run: NotebookRun, plugin: Lectures, **kw):
        super().__init__(**kw)
        self.run, self.plugin = run, plugin

    def runtest(self):
        run, name = self.run, self.run.file.path.name
        if run.failed is not None: pytest.skip(f"{name}, {run.ref(run.failed)} failed (reported there)")
        problems = [f"{run.ref(c)}: not run — `{c.cell.source.strip().splitlines()[0][:60] if c.cell.source.strip() else ''}`"
                    for c in run.cells if c not in run.outputs]
        problems += [f"{run.ref(c)}: {p}" for c in run.cells for p in output_problems(run.outputs.get(c, []))]
        if any(is_setup_cell(c.cell) for c in run.cells) and not (self.plugin.clone/'settings.ini').is_file():
            problems.append("the set-up cell ran, but no course was fetched into the simulated Colab session's folder "
                            "(did the stand-in google.colab module reach the kernel?)")
        if problems: raise LectureProblems(f"{name}:\n  " + '\n  '.join(problems))

    def repr_failure(self, excinfo):
        return str(excinfo.value) if isinstance(excinfo.value, LectureProblems) else super().repr_failure(excinfo)

    def reportinfo(self): return self.path, None, f"{self.run.file.path.name}::lecture checks"
