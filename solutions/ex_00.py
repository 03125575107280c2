"Lecture 00, exercise: a shape test built on `test`."
from exp.nb_00 import test


def test_shape(t, shape) -> None:
    "Assert that tensor `t` has shape `shape`, showing both shapes when it does not."
    test(tuple(t.shape), tuple(shape), lambda a, b: a == b, 'same shape')
