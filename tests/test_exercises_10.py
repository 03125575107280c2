"""Lecture 10's self-checking exercise `shard`: each common wrong answer gets the hint that names its mistake, the
reference solution passes, and the worked answers of the other exercises are there (solutions/ex_10.py)."""
import re
import pytest
from helpers.exercises import check
from solutions import ex_10

HINTS = ["pad 0..9 with its first ones up to 12",                         # no padding
         "consecutive indices: DistributedSampler deals them out",       # contiguous blocks
         "every rank gets ceil(n / world_size) = 6 indices, not 7",      # one too many
         "right up to the padding: the padding repeats the first indices",  # pads with the last ones
         "the padding (3 indices) is longer than the 2 indices themselves"]  # pads once only


@pytest.mark.parametrize('i', range(len(HINTS)))
def test_each_wrong_answer_gets_its_hint(i, capsys):
    assert check('10', 'shard', ex_10.WRONG['shard'][i]) is False
    out = capsys.readouterr().out
    assert out.startswith('✗ shard: not right yet — n=') and HINTS[i] in out, out


def test_a_wrong_order_another_rank_and_indices_out_of_range_are_named(capsys):
    check('10', 'shard', lambda n, w, r: ex_10.shard(n, w, r)[::-1])
    assert 'the right indices in the wrong order' in capsys.readouterr().out
    check('10', 'shard', lambda n, w, r: ex_10.shard(n, w, (r + 1) % w))  # ranks counted from 1
    assert "these are rank 1's indices: rank 0 starts at position 0" in capsys.readouterr().out
    check('10', 'shard', lambda n, w, r: [i + n for i in ex_10.shard(n, w, r)])
    assert 'every index must lie in 0..11' in capsys.readouterr().out


def test_the_reference_passes_and_tensors_are_accepted(capsys):
    import torch
    assert check('10', 'shard', ex_10.shard) is True
    assert check('10', 'shard', lambda n, w, r: torch.tensor(ex_10.shard(n, w, r), dtype=torch.int64)) is True
    assert capsys.readouterr().out == "✓ shard: passed\n✓ shard: passed\n"


def test_every_unchecked_exercise_has_a_worked_answer():
    "The lecture's exercises other than the self-checking first one each have an answer in solutions/ex_10.py."
    from tools.notebooks import REPO
    import nbformat
    nb = nbformat.read(REPO/'nbs'/'10_scaling_out.ipynb', as_version=4)
    text = '\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown').split('## Exercises', 1)[1]
    numbers = [int(k) for k in re.findall(r'^(\d+)\. ', text, re.M)]
    assert sorted(ex_10.ANSWERS) == numbers[1:] and all(len(a) > 200 for a in ex_10.ANSWERS.values())
