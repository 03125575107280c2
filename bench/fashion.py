"""Section 3 — time to accuracy on full Fashion-MNIST: lecture 09's CNN (its `FASHION_RECIPE` through `fit_one_cycle`)
and the course's `MLP` trained with the course's helpers (`Dataset`, `get_dls`, lecture 06's `Learner`,
`compute_accuracy`) against scikit-learn's `MLPClassifier(hidden_layer_sizes=(100,))` with its defaults, on the same
splits in the same run.

Every model trains on lecture 01's 50,000 training images (`get_data('fashion')`); its accuracy after each epoch — the
curve that times "seconds to scikit-learn's accuracy" — is on the 10,000 validation images, and scikit-learn's
accuracy that sets that mark is on validation too. The official 10,000 test images are read once per trained model,
after training, and reported; no setting here was chosen by them. Both course recipes were chosen on validation by
`bench/recipe.py` (records: bench/recipe.json for the CNN, bench/mlp_recipe.json for the MLP). The test-accuracy goals
(CNN ≥ 92.5 %, MLP > 88.33 %, the published figure below) report how those recipes do; they gate nothing.

scikit-learn runs with its defaults (ReLU, Adam, lr 0.001, batch 200, L2 1e-4, up to 200 epochs, stopping when the
training loss has not improved by 1e-4 for 10 epochs).
"""
from __future__ import annotations
import json, statistics, warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import optim

from exp.nb_09 import (FASHION_RECIPE, MLP, DataLoader, Dataset, HyperScheduleCB, Learner, MetricsCB, RandomFlipCB, compute_accuracy,
                       fit_one_cycle, get_cnn, get_data, get_dls, get_test_data, init_cnn, set_all_seeds)
from bench.timing import Row, Section, Target, timed

# The course MLP's recipe (the course's MLP class: one sigmoid hidden layer; Adam; the learning rate multiplied by
# lr_decay after each epoch), as chosen on validation by `python -m bench.recipe mlp`.
MLP_RECORD = Path(__file__).parent/'mlp_recipe.json'


def mlp_recipe() -> dict:
    "The course MLP's recipe chosen on validation (bench/mlp_recipe.json)."
    record = json.loads(MLP_RECORD.read_text()) if MLP_RECORD.exists() else {}
    if 'chosen' not in record: raise FileNotFoundError(f"{MLP_RECORD} holds no chosen recipe: run `python -m bench.recipe mlp` first.")
    return record['chosen']
REFERENCE = [("MLPClassifier (100,) relu — Fashion-MNIST benchmark table", 87.1),
             ("MLP 256-128-100 — Fashion-MNIST benchmark table", 88.33)]
INSTALL = "sudo apt-get install dataset-fashion-mnist"


def load_fashion():
    """Fashion-MNIST as float rows in [0, 1] with labels: (training 50k, validation 10k, test 10k) pairs, lecture 01's
    splits; None when the files are absent."""
    quiet = lambda msg: None
    try: xt, yt, xv, yv = get_data('fashion', download=False, log=quiet); xs, ys = get_test_data('fashion', download=False, log=quiet)
    except FileNotFoundError: return None
    return (xt, yt), (xv, yv), (xs, ys)


def _test_acc(model, test, transform=lambda x: x):
    "Accuracy (%) of `model` on `test` = (x, y), read once after training; None when there is no `test`."
    return None if test is None else compute_accuracy(model, DataLoader(Dataset(transform(test[0]), test[1]), 1000), 'cpu')


def course_mlp(xt, yt, xv, yv, seed: int = 0, recipe: dict = None, test=None):
    """Train the course's MLP with `recipe` (default `mlp_recipe()`) on `xt, yt`, validating on `xv, yv` after each epoch;
    returns ([(seconds so far, validation accuracy %) per epoch], test accuracy % on `test` = (x, y), or None)."""
    r = recipe or mlp_recipe()
    set_all_seeds(seed)
    model = MLP(n_hidden=r['n_hidden'])
    train_dl, valid_dl = get_dls(Dataset(xt, yt), Dataset(xv, yv), r['batch_size'])
    lr, decay, epochs = r['lr'], r['lr_decay'], r['epochs']
    learn = Learner(model, train_dl, valid_dl, F.cross_entropy, opt_func=optim.Adam, lr=lr,
                    cbs=[MetricsCB(), HyperScheduleCB({'lr': lambda step, total: lr * decay ** (step * epochs // total)})])  # × lr_decay each epoch
    learn.fit(epochs)
    return [(h['time'], h['valid_acc']) for h in learn.history], _test_acc(model, test)


def course_cnn(xt, yt, xv, yv, seed: int = 0, epochs: int = None, recipe: dict = FASHION_RECIPE, test=None):
    """Lecture 09's section-5 training of `recipe` (default its FASHION_RECIPE) on the CPU: `init_cnn(get_cnn(channels))`,
    inputs normalized by the training images' mean and std, `RandomFlipCB`, `fit_one_cycle` validating on `xv, yv` after
    each epoch; returns ([(seconds so far, validation accuracy %) per epoch], test accuracy % on `test`, or None)."""
    r = recipe
    mean, std = xt.mean(), xt.std()
    norm = lambda x: (x - mean) / std
    set_all_seeds(seed)
    train_dl, valid_dl = get_dls(Dataset(norm(xt), yt), Dataset(norm(xv), yv), r['batch_size'])
    learn = fit_one_cycle(init_cnn(get_cnn(r['channels'])), train_dl, valid_dl, epochs or r['epochs'], r['lr_max'],
                          r['weight_decay'], device='cpu', cbs=[RandomFlipCB(r['flip'])])
    return [(h['time'], h['valid_acc']) for h in learn.history], _test_acc(learn.model, test, norm)


def sklearn_mlp(xt, yt, xv, yv, seed: int = 0, max_iter: int = 200, test=None):
    """Fit `MLPClassifier(hidden_layer_sizes=(100,))` on `xt, yt`; returns (seconds, validation accuracy %, test accuracy %
    on `test` or None, epochs run, converged?)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=seed, max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ConvergenceWarning)
        secs, _ = timed(clf.fit, xt.numpy(), yt.numpy())
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    test_acc = None if test is None else 100 * clf.score(test[0].numpy(), test[1].numpy())
    return secs, 100 * clf.score(xv.numpy(), yv.numpy()), test_acc, clf.n_iter_, converged


def seeds(n: int) -> str: return 'seed 0' if n == 1 else f'seeds 0–{n - 1}'


def time_to(curve, acc: float):
    "Seconds at the first epoch whose validation accuracy reaches `acc` (None if none does)."
    return next((t for t, a in curve if a >= acc), None)


def fashion_section(course_repeats: int = 3, sklearn_repeats: int = 1, data=None, n: int = None, epochs: int = None,
                    sklearn_max_iter: int = 200, cnn_repeats: int = 1, cnn_epochs: int = None) -> Section:
    """Course CNN (`cnn_repeats` seeds), course MLP (`course_repeats` seeds) and scikit-learn (`sklearn_repeats` seeds),
    alternating in one run; `data` = (train, valid, test) pairs (default `load_fashion()`), each cut to `n` images."""
    sec = Section('3. Time to accuracy, full Fashion-MNIST')
    data = data or load_fashion()
    if data is None:
        sec.notes.append("SKIPPED: Fashion-MNIST's IDX files were not found (in data/FashionMNIST/raw or "
                         f"/usr/share/datasets/fashion-mnist). Install Debian's package: `{INSTALL}`.")
        return sec
    (xt, yt), (xv, yv), test = ((x[:n], y[:n]) for x, y in data)
    mlp = mlp_recipe()
    mlp = dict(mlp, epochs=epochs or mlp['epochs'])
    course, sk, cnn = [], [], []
    for r in range(max(course_repeats, sklearn_repeats, cnn_repeats)):
        runs = [lambda: course.append(course_mlp(xt, yt, xv, yv, seed=r, recipe=mlp, test=test)) if r < course_repeats else None,
                lambda: sk.append(sklearn_mlp(xt, yt, xv, yv, seed=r, max_iter=sklearn_max_iter, test=test)) if r < sklearn_repeats else None,
                lambda: cnn.append(course_cnn(xt, yt, xv, yv, seed=r, epochs=cnn_epochs, test=test)) if r < cnn_repeats else None]
        for run in (runs if r % 2 == 0 else runs[::-1]): run()
    sk_valid = statistics.median(v for _, v, _, _, _ in sk)
    sk_secs = statistics.median(s for s, *_ in sk)
    reached = [time_to(curve, sk_valid) for curve, _ in course]
    sec.notes.append(f"{len(xt):,} training / {len(xv):,} validation / {len(test[0]):,} test images. Course MLP: {json.dumps(mlp)} "
                     f"(bench/mlp_recipe.json), {seeds(course_repeats)}; its wall time includes fit's validation pass after "
                     "every epoch. scikit-learn: MLPClassifier(hidden_layer_sizes=(100,)) defaults, random_state: "
                     f"{seeds(sklearn_repeats)}, ran {', '.join(str(k) for *_, k, _ in sk)} epochs"
                     + ("" if all(c for *_, c in sk) else " (stopped at max_iter, not converged)") + ".")
    sec.rows += [Row("course MLP: validation accuracy", [c[-1][1] for c, _ in course], '%', '{:.2f}'),
                 Row("course MLP: test accuracy (read once, after training)", [t for _, t in course], '%', '{:.2f}', note='goal > 88.33'),
                 Row("course MLP: seconds of training", [c[-1][0] for c, _ in course], 's', '{:.1f}'),
                 Row("scikit-learn MLPClassifier (100,): validation accuracy", [v for _, v, *_ in sk], '%', '{:.2f}'),
                 Row("scikit-learn MLPClassifier (100,): test accuracy", [t for _, _, t, *_ in sk], '%', '{:.2f}'),
                 Row("scikit-learn MLPClassifier (100,): seconds of training (fit)", [s for s, *_ in sk], 's', '{:.1f}')]
    if all(t is not None for t in reached):
        sec.rows.append(Row(f"course MLP: seconds to scikit-learn's validation accuracy {sk_valid:.2f}%", reached, 's', '{:.1f}'))
        sec.rows.append(Row("…as a fraction of scikit-learn's time", [t / sk_secs for t in reached], '×', '{:.2f}',
                            note='target ≤ 0.33'))
        sec.targets.append(Target("course MLP time to scikit-learn's validation accuracy / scikit-learn's time",
                                  sec.rows[-1].median, 1/3, '<='))
    else:
        sec.notes.append(f"course MLP did not reach scikit-learn's validation accuracy {sk_valid:.2f}% in "
                         f"{sum(t is None for t in reached)} of {len(reached)} runs.")
        sec.targets.append(Target("course MLP runs reaching scikit-learn's validation accuracy", sum(t is not None for t in reached),
                                  len(reached), fmt='{:.0f}'))
    sec.targets.insert(0, Target('course MLP test accuracy (%), reported', statistics.median(t for _, t in course), 88.33, '>'))
    if cnn: cnn_rows(sec, cnn, sk_valid, cnn_epochs)
    for name, acc in REFERENCE: sec.rows.append(Row(f"published: {name}", [acc], '%', '{:.2f}', note='reference, not measured here'))
    return sec


def cnn_rows(sec: Section, cnn: list, sk_valid: float, epochs: int = None) -> None:
    "The CNN's rows and goals (≥ 92.5 % test accuracy, reported; within 300 s of training) in section `sec`."
    r = FASHION_RECIPE
    secs = [c[-1][0] for c, _ in cnn]
    reached = [time_to(curve, sk_valid) for curve, _ in cnn]
    sec.notes.append(f"Course CNN: lecture 09's FASHION_RECIPE {r} ({epochs or r['epochs']} epochs), inputs normalized, "
                     f"{seeds(len(cnn))}, {torch.get_num_threads()} threads; validation accuracy per epoch: "
                     + '; '.join(' '.join(f'{a:.2f}' for _, a in c) for c, _ in cnn) + '.')
    sec.rows[:0] = [Row("course CNN: validation accuracy", [c[-1][1] for c, _ in cnn], '%', '{:.2f}'),
                    Row("course CNN: test accuracy (read once, after training)", [t for _, t in cnn], '%', '{:.2f}', note='goal ≥ 92.5'),
                    Row("course CNN: seconds of training (whole fit_one_cycle)", secs, 's', '{:.1f}', note='target ≤ 300')]
    if all(t is not None for t in reached):
        sec.rows.insert(3, Row(f"course CNN: seconds to scikit-learn's validation accuracy {sk_valid:.2f}%", reached, 's', '{:.1f}'))
    else: sec.notes.append(f"course CNN did not reach scikit-learn's validation accuracy {sk_valid:.2f}% in "
                           f"{sum(t is None for t in reached)} of {len(reached)} runs.")
    sec.targets[:0] = [Target('course CNN test accuracy (%), reported', statistics.median(t for _, t in cnn), 92.5),
                       Target('course CNN seconds of training', statistics.median(secs), 300, '<=', '{:.0f}')]
