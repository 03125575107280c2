"""Section 7 — the CNN's training loop: samples/s of lecture 09's CNN trained by lecture 06's Learner against a
hand-written PyTorch loop over the same tensors, same model, optimizer (torch's AdamW) and batch size, measured side by
side; and lecture 09's whole `fit_one_cycle` path (the course's AdamW and one-cycle callback, with its validation pass)
beside them, without a target."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import optim

from exp.nb_09 import (FASHION_RECIPE, DataLoader, Dataset, Learner, MetricsCB, embedded_digits, fit_one_cycle, get_cnn, get_dls,
                       init_cnn, to_float_rows)
from bench.timing import Row, Section, Target, interleaved, ratios, timed
from bench.training import shuffled_loop

LR = 1e-3


def _model_opt(seed: int = 0):
    "A fresh course CNN (the recipe's channels, Kaiming init) and torch's AdamW on it, the same for every method."
    torch.manual_seed(seed)
    model = init_cnn(get_cnn(FASHION_RECIPE['channels']))
    return model, optim.AdamW(model.parameters(), lr=LR)


def hand_loop(x, y, bs: int, epochs: int) -> None:
    "Baseline: section 1's hand-written shuffled loop (randperm, batches by indexing), on the CNN and AdamW."
    shuffled_loop(x, y, bs, epochs, _model_opt)


def course_learner(x, y, bs: int, epochs: int) -> None:
    "Lecture 06's Learner with MetricsCB (the history) over lecture 03's shuffled DataLoader, training only (no validation)."
    model, opt = _model_opt()
    learn = Learner(model, DataLoader(Dataset(x, y), bs, shuffle=True), None, F.cross_entropy, opt_func=lambda params, lr: opt,
                    cbs=[MetricsCB()])
    learn.fit(epochs)


def course_one_cycle(x, y, xv, yv, bs: int, epochs: int) -> None:
    "Lecture 09's `fit_one_cycle`: the course's AdamW, one-cycle, history, and a validation pass after each epoch."
    torch.manual_seed(0)
    train_dl, valid_dl = get_dls(Dataset(x, y), Dataset(xv, yv), bs)
    fit_one_cycle(init_cnn(get_cnn(FASHION_RECIPE['channels'])), train_dl, valid_dl, epochs, FASHION_RECIPE['lr_max'],
                  FASHION_RECIPE['weight_decay'], device='cpu')


def cnn_section(repeats: int = 5, n_train: int = None, epochs: int = 1, bs: int = FASHION_RECIPE['batch_size']) -> Section:
    "Samples/s of the hand-written loop, the Learner and fit_one_cycle on the CNN, side by side `repeats` times."
    sec = Section('7. CNN training loop (lecture 09)')
    xt, yt, xv, yv = embedded_digits()
    x, y, v = to_float_rows(xt[:n_train]), yt[:n_train], to_float_rows(xv)
    n = len(x) * epochs
    got = interleaved({'hand': lambda: n / timed(hand_loop, x, y, bs, epochs)[0],
                       'learner': lambda: n / timed(course_learner, x, y, bs, epochs)[0],
                       'one_cycle': lambda: n / timed(course_one_cycle, x, y, v, yv, bs, epochs)[0]}, repeats)
    sec.notes.append(f"the course CNN (channels {FASHION_RECIPE['channels']}, {sum(p.numel() for p in _model_opt()[0].parameters()):,} "
                     f"parameters) on {len(x):,} embedded digits, batch {bs}, {epochs} epoch(s) per measurement, "
                     f"{torch.get_num_threads()} threads; hand-written loop and Learner: torch's AdamW lr {LR}; fit_one_cycle "
                     f"also validates on {len(v):,} digits each epoch (its samples/s count training images only).")
    sec.rows += [Row('CNN: hand-written loop (baseline)', got['hand'], 'samples/s'),
                 Row('CNN: course Learner + MetricsCB', got['learner'], 'samples/s'),
                 Row('CNN: course fit_one_cycle (course AdamW, one-cycle, validation)', got['one_cycle'], 'samples/s'),
                 Row('CNN: Learner + MetricsCB / hand-written loop', ratios(got['learner'], got['hand']), '×', '{:.2f}',
                     note='target ≥ 0.9')]
    sec.targets.append(Target('CNN: course Learner / hand-written loop', sec.rows[-1].median, 0.9))
    return sec
