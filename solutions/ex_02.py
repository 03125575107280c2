"Lecture 02, exercise: the backward pass through ReLU."
import torch


def relu_grad(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    "∂loss/∂x for y = relu(x), given g = ∂loss/∂y: the gradient passes where x > 0 and is 0 elsewhere."
    return g * (x > 0).float()


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'relu_grad': [lambda x, g: g,                                # ignores x
                       lambda x, g: (x > 0).float(),                  # ignores g
                       lambda x, g: g * (x >= 0).float() * 2]}        # twice the gradient
