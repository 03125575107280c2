"Reference solutions of lecture 09's self-checking exercises (the tests prove that they pass the checks)."
import torch
from torch import nn


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    "A new convolution equal to `bn(conv(x))` with `bn` in evaluation mode: each output channel scaled and shifted."
    scale = bn.weight / (bn.running_var + bn.eps).sqrt()
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
    b = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        folded.bias.copy_((b - bn.running_mean) * scale + bn.bias)
    return folded


# Wrong answers the check must refuse (tests/test_exercises.py), each with the words its hint must contain
# (tests/test_exercises_09.py).
def _folded(conv, scale, bias):
    f = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
    with torch.no_grad(): f.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1)); f.bias.copy_(bias)
    return f

def _bias(conv, bn): return conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)

def _no_eps(conv, bn):
    s = bn.weight / bn.running_var.sqrt()
    return _folded(conv, s, (_bias(conv, bn) - bn.running_mean) * s + bn.bias)

def _conv_bias_dropped(conv, bn):
    s = bn.weight / (bn.running_var + bn.eps).sqrt()
    return _folded(conv, s, -bn.running_mean * s + bn.bias)

def _mean_not_subtracted(conv, bn):
    s = bn.weight / (bn.running_var + bn.eps).sqrt()
    return _folded(conv, s, _bias(conv, bn) * s + bn.bias)

def _by_variance(conv, bn):
    s = bn.weight / (bn.running_var + bn.eps)
    return _folded(conv, s, (_bias(conv, bn) - bn.running_mean) * s + bn.bias)

def _in_place(conv, bn):
    s = bn.weight / (bn.running_var + bn.eps).sqrt()
    with torch.no_grad(): conv.weight.mul_(s.view(-1, 1, 1, 1))
    return conv

def _scaled_by_input_channel(conv, bn):
    s = bn.weight / (bn.running_var + bn.eps).sqrt()
    return _folded(conv, torch.ones_like(s), (_bias(conv, bn) - bn.running_mean) * s + bn.bias)


WRONG = {'fold_batchnorm': [_no_eps, _conv_bias_dropped, _mean_not_subtracted, _by_variance, _in_place, _scaled_by_input_channel]}
HINTS = {'fold_batchnorm': ['eps', "convolution's own bias", 'running mean', 'not by the variance', 'leave the two', 'kernel is multiplied']}


# Expected answers of the exercises without a check (lecture 09's exercises 1's questions and 2–5).
ANSWERS = {
    1: "Folded, a prediction runs one convolution instead of a convolution, a subtraction, a division, a product and a "
       "sum per value. In training batch norm uses each batch's own mean and variance, which change with every batch, "
       "so there is no fixed affine map to fold.",
    2: "Kernels of 3 with strides 1, 2, 2, 2: the receptive field grows by 2·(product of the earlier strides) per block, "
       "1 → 3 → 5 → 9 → 17, so an output of the fourth block away from the border depends on at most 17×17 = 289 "
       "pixels (fewer at the image's border, and the gradient count can be lower where a ReLU is off).",
    3: "Stride 1 + max pooling has the same parameter count (pooling has none) but computes every convolution at full "
       "resolution — 4× the multiply-adds of a stride-2 block for every block after the first — so each epoch is slower; compare "
       "the validation accuracies yourself before calling either better.",
    4: "What to look for: the highest peak rate at which each run still ends with a falling loss and a validation "
       "accuracy near section 4's, and, in ActivationStats' plots, whether the later blocks' standard deviations "
       "collapse towards 0 in the runs that fail.",
    5: "The largest off-diagonal entry of the 10×10 matrix (rows: true class, columns: predicted) names the pair; "
       "show images where the true class is the row's and the prediction the column's. Expect look-alike classes.",
}
