"Lecture 03, exercise: top-k accuracy."
import torch


def top_k_accuracy(out: torch.Tensor, y: torch.Tensor, k: int = 1) -> torch.Tensor:
    "Fraction of rows whose target class is among the `k` largest outputs."
    return (out.topk(k, dim=1).indices == y.unsqueeze(1)).any(dim=1).float().mean()


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'top_k_accuracy': [lambda out, y, k: (out.argmax(1) == y).float().mean(),                # ignores k
                            lambda out, y, k: (out.topk(k, dim=1).indices == y[:, None]).float().sum()]}  # a count
