"Reference solutions of lecture 09's self-checking exercises (the tests prove that they pass the checks)."
import torch


def layer_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    "Each example x[i] normalized over all its values: (x - mean) / sqrt(biased variance + eps)."
    dims = tuple(range(1, x.ndim))
    return (x - x.mean(dims, keepdim=True)) / (x.var(dims, keepdim=True, correction=0) + eps).sqrt()
