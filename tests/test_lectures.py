"""Every lecture keeps the course's rules (tools/rules.py), which are read from nbs/ alone; a lecture made by
`make lecture` (tools/new_lecture.py) keeps them from the start, and a bare one fails, naming what it lacks."""
import shutil, subprocess, sys
import nbformat, pytest
from tools import new_lecture
from tools.notebooks import NB_METADATA, REPO, lecture_paths
from tools.rules import committed, course_problems, lecture_problems


@pytest.mark.parametrize('path', lecture_paths(), ids=lambda p: p.stem)
def test_lecture_keeps_the_rules(path):
    problems = lecture_problems(path)
    assert not problems, f"{path.name}:\n  " + '\n  '.join(problems)


def test_the_course_keeps_the_rules():
    assert course_problems() == []


@pytest.fixture
def course(tmp_path):
    "A copy of the course (lectures, exp, helpers, solutions, README and settings) to add lectures to."
    root = tmp_path/'course'
    root.mkdir()
    for f in ('README.md', 'settings.ini', 'pyproject.toml'): shutil.copy(REPO/f, root/f)
    (root/'nbs').mkdir()
    for p in lecture_paths(): shutil.copy(p, root/'nbs'/p.name)
    for d in ('exp', 'helpers', 'solutions'): shutil.copytree(REPO/d, root/d, ignore=shutil.ignore_patterns('__pycache__'))
    return root


def test_a_bare_lecture_fails_naming_what_it_lacks(course):
    nb = nbformat.v4.new_notebook(metadata=NB_METADATA, cells=[nbformat.v4.new_markdown_cell('# Bare'),
                                                                nbformat.v4.new_code_cell('x = 1')])
    nbformat.write(nb, course/'nbs'/'11_bare.ipynb')
    problems = '\n'.join(lecture_problems(course/'nbs'/'11_bare.ipynb', course))
    for missing in ('Colab badge, set-up cell or metadata is missing', 'must be markdown starting with its title `# 11 — Title`',
                    'no `#| default_exp nb_11` cell', 'no chain cell', 'from exp.nb_10 import *',
                    'last two sections must be `## Summary` and `## Exercises`', 'no self-checking exercise',
                    'no README row `| 11 | [Title](nbs/11_bare.ipynb)', 'no README run-time row for 11_bare'):
        assert missing in problems, f"{missing!r} not named:\n{problems}"
    assert any('link to the next lecture' in p for p in lecture_problems(course/'nbs'/'10_scaling_out.ipynb', course))
    assert course_problems(course) == ["the README must name the newest module, as `from exp.nb_11 import *` (the newest module)"]


def test_a_scaffolded_lecture_keeps_every_rule(course):
    before = {p: p.read_bytes() for p in course.rglob('*') if p.is_file()}
    assert new_lecture.main(['11', 'resnets', 'Residual networks', '--root', str(course)]) == 0
    path = course/'nbs'/'11_resnets.ipynb'
    for p in (path, course/'nbs'/'10_scaling_out.ipynb'):
        assert lecture_problems(p, course) == [], p.name
    assert course_problems(course) == []
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[-1].outputs[0].text.startswith('not yet solved') and (course/'exp'/'nb_11.py').is_file()
    changed = sorted(str(p.relative_to(course)) for p in course.rglob('*') if p.is_file() and before.get(p) != p.read_bytes()
                     and '__pycache__' not in p.parts)
    assert changed == ['README.md', 'exp/nb_11.py', 'helpers/exercises.py', 'nbs/10_scaling_out.ipynb',
                       'nbs/11_resnets.ipynb', 'solutions/ex_11.py'], changed
    probe = ("from exp import nb_10, nb_11\nassert nb_11.__all__ == nb_10.__all__  # the chain: all earlier names, none new\n"
             "from helpers.exercises import check\nfrom solutions.ex_11 import count_parameters, WRONG\n"
             "assert check('11', 'count_parameters', count_parameters)\n"
             "assert not any(check('11', 'count_parameters', w) for w in WRONG['count_parameters'])")
    r = subprocess.run([sys.executable, '-c', probe], cwd=course, env={'PYTHONPATH': str(course), 'PATH': '/usr/bin:/bin'},
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    after = {p: p.read_bytes() for p in course.rglob('*') if p.is_file()}
    assert new_lecture.main(['11', 'resnets', 'Residual networks', '--root', str(course)]) == 1  # never overwrites
    assert new_lecture.main(['12', 'Bad-Name', 'Title', '--root', str(course)]) == 1
    assert {p: p.read_bytes() for p in course.rglob('*') if p.is_file()} == after


def test_a_learners_solved_exercise_is_judged_as_committed(tmp_path):
    "The rule that check cells are committed unsolved reads git's copy; a learner's solved, saved lecture does not fail it."
    lecture = lecture_paths(['00'])[0]
    nb = nbformat.read(lecture, as_version=4)
    repo = tmp_path/'repo'
    (repo/'nbs').mkdir(parents=True)
    git = lambda *a: subprocess.run(['git', *a], cwd=repo, check=True, capture_output=True)
    nbformat.write(nb, repo/'nbs'/lecture.name)
    git('init', '-q'); git('add', '.'); git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'course')
    check_cell = next(c for c in nb.cells if c.cell_type == 'code' and "check('00'" in c.source)
    check_cell.outputs = [nbformat.v4.new_output('stream', name='stdout', text='✓ test_shape: passed\n')]
    nbformat.write(nb, repo/'nbs'/lecture.name)
    assert committed(repo/'nbs'/lecture.name).cells[nb.cells.index(check_cell)].outputs[0].text.startswith('not yet solved')
    shutil.copy(repo/'nbs'/lecture.name, tmp_path/lecture.name)  # outside git: the file as it is
    assert committed(tmp_path/lecture.name).cells[nb.cells.index(check_cell)].outputs[0].text.startswith('✓')
