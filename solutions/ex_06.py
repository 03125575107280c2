"Lecture 06, exercise: the cosine learning-rate schedule from its formula."
import math


def cosine_lr(t: int, lr0: float, lr_end: float, epochs: int) -> float:
    "η_t = η_end + ½(η_0 − η_end)(1 + cos(π t / (E − 1))): η_0 at t = 0, η_end at t = E − 1."
    return lr_end + 0.5 * (lr0 - lr_end) * (1 + math.cos(math.pi * t / (epochs - 1)))
