"Lecture 06, exercise: the cosine learning-rate schedule from its formula."
import math


def cosine_lr(t: int, lr0: float, lr_end: float, epochs: int) -> float:
    "η_t = η_end + ½(η_0 − η_end)(1 + cos(π t / (E − 1))): η_0 at t = 0, η_end at t = E − 1."
    return lr_end + 0.5 * (lr0 - lr_end) * (1 + math.cos(math.pi * t / (epochs - 1)))


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'cosine_lr': [lambda t, lr0, lr_end, epochs: lr0 - (lr0 - lr_end) * t / (epochs - 1),         # linear, not cosine
                       lambda t, lr0, lr_end, epochs: 0.5 * lr0 * (1 + math.cos(math.pi * t / epochs))]}  # wrong period, no floor
