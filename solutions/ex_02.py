"Lecture 02, exercise: the backward pass through ReLU."
import torch


def relu_grad(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    "∂loss/∂x for y = relu(x), given g = ∂loss/∂y: the gradient passes where x > 0 and is 0 elsewhere."
    return g * (x > 0).float()
