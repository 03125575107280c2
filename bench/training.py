"""Section 1 — training loop: samples/s of the course's training paths (lecture 06's Learner, lecture 03's fit,
lecture 05's train_model) against a hand-written slicing loop and PyTorch's per-item DataLoader, same model (the
course's `MLP`, 784-100-10), optimizer (SGD) and batch size; and the cost of the Learner's callback machinery per batch.
Nothing here patches course code: every figure is the time of a whole public call."""
from __future__ import annotations
import statistics

import torch
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader as TorchDataLoader, TensorDataset

from exp.nb_06 import (EVENTS, MLP, Callback, Dataset, DeviceCB, FiniteLossCB, Learner, MetricsCB, embedded_digits, fit,
                       get_dls, to_float_rows, train_model)
from bench.timing import Row, Section, Target, interleaved, matmul_flops, ratios, timed

# A training step of 784-100-10: forward 2·784·100 + 2·100·10, backward 2·784·100 (weight gradient of layer 1; the
# input needs no gradient) + 4·100·10 (weight and input gradients of layer 2). Activations and the loss are ignored.
FLOP_PER_SAMPLE = 4*784*100 + 6*100*10
LR = 0.1


def _model_opt(seed: int = 0):
    "A fresh course MLP (784-100-10, sigmoid) and its SGD optimizer, the same for every method."
    torch.manual_seed(seed)
    model = MLP()
    return model, optim.SGD(model.parameters(), lr=LR)


def _train(batches_per_epoch, epochs: int, model_opt=_model_opt) -> None:
    "The hand-written training step of every baseline, on a fresh `model_opt()`, over `batches_per_epoch()` each epoch."
    model, opt = model_opt()
    for _ in range(epochs):
        for xb, yb in batches_per_epoch():
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()


def slicing_loop(x, y, bs: int, epochs: int) -> None:
    "Baseline: the hand-written loop, batches by slicing the tensors in order (no shuffling, no bookkeeping)."
    _train(lambda: ((x[i:i+bs], y[i:i+bs]) for i in range(0, len(x), bs)), epochs)


def shuffled_loop(x, y, bs: int, epochs: int, model_opt=_model_opt) -> None:
    """Baseline: the hand-written loop over a fresh random order each epoch (batches by indexing with slices of a
    randperm), on a fresh `model_opt()` (default: the MLP and SGD)."""
    def batches():
        idx = torch.randperm(len(x))
        return ((x[j], y[j]) for j in (idx[i:i+bs] for i in range(0, len(x), bs)))
    _train(batches, epochs, model_opt)


def torch_dataloader_loop(x, y, bs: int, epochs: int) -> None:
    "Baseline: the same loop over PyTorch's default DataLoader (shuffled; items fetched one by one and collated)."
    dl = TorchDataLoader(TensorDataset(x, y), batch_size=bs, shuffle=True)
    _train(lambda: dl, epochs)


def course_fit(x, y, xv, yv, bs: int, epochs: int) -> None:
    "The course's path from lecture 03: `get_dls` over `Dataset`s and `fit` (its per-epoch line goes nowhere)."
    model, opt = _model_opt()
    train_dl, valid_dl = get_dls(Dataset(x, y), Dataset(xv, yv), bs)
    fit(epochs, model, F.cross_entropy, opt, train_dl, valid_dl, log=lambda msg: None)


def course_learner(x, y, xv, yv, bs: int, epochs: int, cbs=None) -> None:
    "Lecture 06's Learner over `get_dls` with `cbs` (default: `MetricsCB`, the history — what `fit` records too)."
    model, opt = _model_opt()
    train_dl, valid_dl = get_dls(Dataset(x, y), Dataset(xv, yv), bs)
    learn = Learner(model, train_dl, valid_dl, F.cross_entropy, opt_func=lambda params, lr: opt,  # the same optimizer as the others
                    cbs=[MetricsCB()] if cbs is None else cbs)
    learn.fit(epochs)


def course_train_model(x, y, xv, yv, bs: int, epochs: int) -> None:
    """The course's path from lecture 05: `train_model` over `get_dls` loaders — the whole call, which includes its
    accuracy passes over the training, validation and test loaders after each epoch."""
    model, opt = _model_opt()
    train_dl, valid_dl = get_dls(Dataset(x, y), Dataset(xv, yv), bs)
    train_model(model, epochs, train_dl, valid_dl, valid_dl, opt, log=lambda msg: None)


class NoOp(Callback):
    "A callback with a method for every event that does nothing: what the machinery costs by itself."
for _e in EVENTS: setattr(NoOp, _e, lambda self, learn: None)


LABELS = {'slicing': 'slicing loop (baseline)', 'shuffled': 'hand-written loop, shuffled (randperm + indexing)',
          'learner': 'course: Learner + MetricsCB (the history)',
          'learner_cmd': "course: Learner with the command's per-batch callbacks (device, finite loss, metrics)",
          'fit': 'course: get_dls + fit',
          'train_model': 'course: train_model, whole call (with its accuracy passes)',
          'dataloader': 'PyTorch DataLoader, per-item collate'}
TARGETED = ('learner', 'fit')  # the course's paths the ≥ 0.9× target is about


def training_section(batch_sizes=(64, 128, 256), repeats: int = 5, n_train: int = None, epochs: int = 5,
                     matmul_n: int = 2048, matmul_time: float = 0.3) -> Section:
    "Samples/s of every method at every batch size, measured side by side `repeats` times, and the matmul FLOP ceiling."
    xt, yt, xv, yv = embedded_digits()
    x, y = to_float_rows(xt)[:n_train], yt[:n_train]
    n = epochs * len(x)
    sec = Section('1. Training loop (in-memory tensors, course MLP 784-100-10, SGD)')
    ceiling_all = []
    for bs in batch_sizes:
        xvb, yvb = to_float_rows(xv)[:2*bs], yv[:2*bs]
        measures = {'slicing': lambda: n / timed(slicing_loop, x, y, bs, epochs)[0],
                    'shuffled': lambda: n / timed(shuffled_loop, x, y, bs, epochs)[0],
                    'learner': lambda: n / timed(course_learner, x, y, xvb[:1], yvb[:1], bs, epochs)[0],  # validation: one row
                    'learner_cmd': lambda: n / timed(course_learner, x, y, xvb[:1], yvb[:1], bs, epochs,
                                                     [DeviceCB('cpu'), FiniteLossCB(), MetricsCB()])[0],
                    'fit': lambda: n / timed(course_fit, x, y, xvb[:1], yvb[:1], bs, epochs)[0],
                    'train_model': lambda: n / timed(course_train_model, x, y, xvb, yvb, bs, epochs)[0],
                    'dataloader': lambda: n / timed(torch_dataloader_loop, x, y, bs, epochs)[0],
                    'ceiling': lambda: matmul_flops(matmul_n, matmul_time)}
        for f in measures.values(): f()  # warm-up round, not recorded
        got = interleaved(measures, repeats)
        ceiling = got.pop('ceiling')
        ceiling_all += ceiling
        for k, label in LABELS.items():
            frac = statistics.median([s * FLOP_PER_SAMPLE / c for s, c in zip(got[k], ceiling)])
            sec.rows.append(Row(f"bs {bs}: {label}", got[k], 'samples/s', note=f"{frac:.0%} of FLOP ceiling"))
        for k in LABELS:
            if k == 'slicing': continue
            name = f"bs {bs}: {LABELS[k].replace('course: ', '')} / slicing"
            sec.rows.append(Row(name, ratios(got[k], got['slicing']), '×', '{:.2f}', note='target ≥ 0.90' * (k in TARGETED)))
            if k in TARGETED: sec.targets.append(Target(f"bs {bs}: {LABELS[k]} / slicing loop", sec.rows[-1].median, 0.9))
        for k in TARGETED:
            sec.rows.append(Row(f"bs {bs}: {LABELS[k].replace('course: ', '')} / shuffled hand-written loop",
                                ratios(got[k], got['shuffled']), '×', '{:.2f}', note='same work: a new order each epoch'))
    sec.rows += callback_cost_rows(x, y, min(batch_sizes), epochs, repeats)
    sec.rows.append(Row(f"FLOP ceiling: {matmul_n}² float32 matmul", [c / 1e9 for c in ceiling_all], 'GFLOP/s', '{:,.1f}'))
    sec.notes += [f"{len(x):,} embedded MNIST rows × {epochs} epochs per measurement, plain SGD lr {LR}. Like train_model's "
                  "training part, fit's figure is training throughput: its validation pass, a forward pass the baselines "
                  "do not make, gets one row; torch threads: "
                  f"{torch.get_num_threads()}. FLOPs counted per sample: {FLOP_PER_SAMPLE:,}; "
                  f"ceiling: a float32 {matmul_n}×{matmul_n} matmul, measured between the runs.",
                  "The slicing loop visits the rows in the same order every epoch; the shuffled hand-written loop shows what "
                  "a fresh random order costs (indexing copies each batch), which get_dls and PyTorch's DataLoader also pay.",
                  "train_model's whole call includes its accuracy passes after each epoch over the training, validation "
                  "and test loaders (the baselines make none), so it is reported but has no target.",
                  "Callback machinery: the Learner with no callbacks, and with 10 callbacks that have a do-nothing method "
                  "for every event, on the same batches; the difference per batch is what dispatching events costs."]
    return sec


def callback_cost_rows(x, y, bs: int, epochs: int, repeats: int) -> list:
    "µs per batch of the Learner's event dispatch: bare Learner vs the slicing loop, and per do-nothing callback."
    n_batches = epochs * -(-len(x) // bs)
    xv, yv = x[:1], y[:1]
    measures = {'slicing': lambda: timed(slicing_loop, x, y, bs, epochs)[0],
                'bare': lambda: timed(course_learner, x, y, xv, yv, bs, epochs, [])[0],
                'noop10': lambda: timed(course_learner, x, y, xv, yv, bs, epochs, [NoOp() for _ in range(10)])[0]}
    for f in measures.values(): f()
    got = interleaved(measures, repeats)
    per_batch = lambda a, b, k=1: [(s - t) / n_batches / k * 1e6 for s, t in zip(a, b)]
    return [Row(f"bs {bs}: bare Learner (no callbacks) − slicing loop, per batch", per_batch(got['bare'], got['slicing']), 'µs',
                '{:.1f}', note='loop, events with no handler, shuffled batches by indexing'),
            Row(f"bs {bs}: one do-nothing callback on every event, per batch", per_batch(got['noop10'], got['bare'], 10), 'µs',
                '{:.2f}', note='(10 callbacks − none) / 10'),
            Row(f"bs {bs}: one batch of the slicing loop", [s / n_batches * 1e6 for s in got['slicing']], 'µs', '{:.0f}')]
