"Lecture 07, exercise: a new settings key."
from exp.nb_07 import Key


def smoothing_key() -> Key:
    "The settings key `label_smoothing`: a fraction in [0, 1), default 0.0 (no smoothing)."
    return Key(float, 0.0, "label smoothing of the cross-entropy loss", rule='in [0, 1)', check=lambda v: 0 <= v < 1)


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'smoothing_key': [lambda: Key(float, 0.0, 'no rule'),                                      # accepts 1.0
                           lambda: Key(float, 0.1, 'wrong default', check=lambda v: 0 <= v < 1),
                           lambda: 'label_smoothing: 0.0']}                                         # not a Key
