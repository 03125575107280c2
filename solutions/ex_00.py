"Lecture 00, exercise: a shape test built on `test`."
import torch
from exp.nb_00 import test


def test_shape(t, shape) -> None:
    "Assert that tensor `t` has shape `shape`, showing both shapes when it does not."
    test(tuple(t.shape), tuple(shape), lambda a, b: a == b, 'same shape')


# Wrong answers the check must refuse (tests/test_exercises.py).
def _fails(t, shape): raise AssertionError('no')


WRONG = {'test_shape': [lambda t, shape: None,                                   # never fails
                        _fails,                                                  # always fails, shapes not shown
                        lambda t, shape: None if t.numel() == torch.Size(shape).numel() else 1 / 0]}  # compares sizes
