"Lecture 07, exercise: a new settings key."
from exp.nb_07 import Key


def smoothing_key() -> Key:
    "The settings key `label_smoothing`: a fraction in [0, 1), default 0.0 (no smoothing)."
    return Key(float, 0.0, "label smoothing of the cross-entropy loss", rule='in [0, 1)', check=lambda v: 0 <= v < 1)
