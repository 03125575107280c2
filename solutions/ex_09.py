"Reference solutions of lecture 09's self-checking exercises (the tests prove that they pass the checks)."
import torch


def layer_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    "Each example x[i] normalized over all its values: (x - mean) / sqrt(biased variance + eps)."
    dims = tuple(range(1, x.ndim))
    return (x - x.mean(dims, keepdim=True)) / (x.var(dims, keepdim=True, correction=0) + eps).sqrt()


# Wrong answers the check must refuse (tests/test_exercises.py).
def _per_example(x): return (-1, *[1] * (x.ndim - 1))


WRONG = {'layer_norm': [lambda x, eps: (x - x.mean(0)) / (x.var(0, correction=0) + eps).sqrt(),  # over the batch: batch norm
                        lambda x, eps: (x - x.mean()) / (x.var(correction=0) + eps).sqrt(),    # over the whole tensor
                        lambda x, eps: (x - x.flatten(1).mean(1).view(_per_example(x))) / x.flatten(1).std(1).view(_per_example(x)),  # unbiased, no eps
                        lambda x, eps: x - x.flatten(1).mean(1).view(_per_example(x))]}        # centred only
