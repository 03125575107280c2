"Lecture 01, exercise: rows shared between two image tensors."
import torch


def count_shared(xa: torch.Tensor, xb: torch.Tensor) -> int:
    "Number of rows of `xa` that also occur as a row of `xb`."
    rows_b = {r.numpy().tobytes() for r in xb.flatten(1)}
    return sum(r.numpy().tobytes() in rows_b for r in xa.flatten(1))


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'count_shared': [lambda xa, xb: 0, lambda xa, xb: len(xa),
                          lambda xa, xb: count_shared(xa, xb) + 1]}
