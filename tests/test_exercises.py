"""Exercises: every check registered in helpers/exercises.py passes on its reference solution (solutions/ex_NN.py),
fails on each wrong answer listed there (`WRONG`), and says 'not yet solved' for a lecture's placeholder answer. Which
lecture must have which exercise is read from the lectures themselves (tools/rules.py, tests/test_lectures.py)."""
import importlib
import pytest
from helpers.exercises import CHECKS, check


def _not_implemented(*args, **kwargs): raise NotImplementedError


def registered(): return [(lec, name) for lec in sorted(CHECKS) for name in CHECKS[lec]]


@pytest.mark.parametrize('lec, name', registered())
def test_check_passes_on_the_reference_solution(lec, name, capsys):
    solution = getattr(importlib.import_module(f'solutions.ex_{lec}'), name)
    assert check(lec, name, solution) is True
    assert capsys.readouterr().out == f"✓ {name}: passed\n"


@pytest.mark.parametrize('lec, name', registered())
def test_check_fails_on_wrong_answers(lec, name, capsys):
    wrong = importlib.import_module(f'solutions.ex_{lec}').WRONG[name]
    assert wrong, f"solutions/ex_{lec}.py lists no wrong answer for {name}"
    for answer in wrong:
        assert check(lec, name, answer) is False
        assert capsys.readouterr().out.startswith(f"✗ {name}: ")


@pytest.mark.parametrize('lec, name', registered())
def test_placeholder_is_not_yet_solved(lec, name, capsys):
    assert check(lec, name, _not_implemented) is False
    assert capsys.readouterr().out.startswith('not yet solved')


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="no exercise 'nope' in lecture '02'"): check('02', 'nope', None)



def test_a_lecture_given_as_a_number_gets_the_spelling():
    from helpers.exercises import check
    with pytest.raises(KeyError, match=r"lecture 3: give the lecture as two-digit text, e.g. check\('03'"): check(3, 'x', None)
