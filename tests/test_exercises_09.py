"Lecture 09's exercise check gives each usual slip its own hint (the wrong answers and hint words: solutions/ex_09.py)."
import pytest
from helpers.exercises import check
from solutions.ex_09 import HINTS, WRONG


@pytest.mark.parametrize('answer, words', list(zip(WRONG['fold_batchnorm'], HINTS['fold_batchnorm'])))
def test_each_slip_gets_its_hint(answer, words, capsys):
    assert check('09', 'fold_batchnorm', answer) is False
    out = capsys.readouterr().out
    assert out.startswith('✗ fold_batchnorm: not right yet — ') and words in out, out
