"Lecture 04, exercise: a confusion matrix."
import torch


def confusion_matrix(preds: torch.Tensor, targets: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    "`n_classes`×`n_classes` counts: row = true class, column = predicted class."
    return torch.bincount(targets * n_classes + preds, minlength=n_classes**2).view(n_classes, n_classes)


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'confusion_matrix': [lambda p, t, n: torch.bincount(p * n + t, minlength=n * n).view(n, n),  # transposed
                              lambda p, t, n: torch.zeros(n, n)]}
