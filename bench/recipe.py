"""Lecture 09's Fashion-MNIST recipe, chosen on the validation split only.

    python -m bench.recipe            # about 20 min on 2 idle cores (11 runs of 1-2.5 min); writes bench/recipe.json and bench/recipe.md

Every run trains lecture 09's CNN exactly as its section 5 does (inputs normalized by the training images' mean and
std, `init_cnn(get_cnn(channels))`, `fit_one_cycle` with lecture 08's AdamW and one-cycle, `RandomFlipCB`) on the
50,000 training images of `get_data('fashion')` and reads the accuracy on its 10,000 validation images (the last sixth
of the official training set). The official test images are never loaded here.

The search is greedy, one setting at a time, in the order of `STEPS`: starting from `START`, each candidate value of a
setting is trained with the others as chosen so far, and the value with the best final validation accuracy is kept
(the current value wins ties). Then the chosen recipe and `START` are trained again with a second seed, to show how
much of a difference the seed alone makes. Finished runs are kept in recipe.json, so an interrupted search continues.
"""
from __future__ import annotations
import json, time
from pathlib import Path

import torch

from bench.fashion import course_cnn
from exp.nb_09 import get_data

HERE = Path(__file__).parent
START = {'channels': [16, 32, 64, 128], 'epochs': 8, 'batch_size': 128, 'lr_max': 1e-2, 'weight_decay': 0.05, 'flip': 0.5}
STEPS = [('flip', [0.0]),
         ('weight_decay', [0.01]),
         ('lr_max', [5e-3, 2e-2, 4e-2]),
         ('channels', [[8, 16, 32, 64], [16, 32, 64, 128, 256]]),
         ('epochs', [5])]


def train_on_validation(recipe: dict, seed: int, data) -> dict:
    "Train `recipe` with `seed` on the 50,000 training images; final validation accuracy (%) and training seconds."
    curve, _ = course_cnn(*data, seed=seed, epochs=recipe['epochs'], recipe=recipe)
    return {'recipe': recipe, 'seed': seed, 'valid_acc': curve[-1][1], 'seconds': round(curve[-1][0], 1)}


def search(path: Path = HERE/'recipe.json') -> dict:
    "Run (or continue) the greedy search; returns {'runs': [...], 'chosen': recipe}."
    done = json.loads(path.read_text())['runs'] if path.exists() else []
    data = get_data('fashion', download=False, log=lambda msg: None)
    torch.set_num_threads(2)
    def run(recipe, seed, step):
        for r in done:
            if r['recipe'] == recipe and r['seed'] == seed: return r
        r = {'step': step, **train_on_validation(recipe, seed, data)}
        done.append(r)
        path.write_text(json.dumps({'runs': done}, indent=1))
        print(f"{step:<13} {json.dumps(recipe)} seed {seed}: valid {r['valid_acc']:.2f}% ({r['seconds']:.0f} s)", flush=True)
        return r
    best = dict(START)
    best_acc = run(best, 0, 'start')['valid_acc']
    for key, values in STEPS:
        for v in values:
            acc = run({**best, key: v}, 0, key)['valid_acc']
            if acc > best_acc: best_acc, chosen = acc, v
            else: chosen = None
            if chosen is not None: best = {**best, key: chosen}
    for recipe in (best, START): run(recipe, 1, 'second seed')
    result = {'runs': done, 'chosen': best}
    path.write_text(json.dumps(result, indent=1))
    return result


def write_markdown(result: dict, path: Path = HERE/'recipe.md') -> None:
    "The search as a table: every run in order, the chosen recipe, the seed spread."
    lines = ["# Lecture 09's Fashion-MNIST recipe, chosen on validation", "",
             f"`python -m bench.recipe` — {time.strftime('%Y-%m-%d')}, 2 CPU threads. Training: 50,000 images; accuracy: "
             "the 10,000 validation images (last sixth of the training set). The test images are not read.", "",
             "| step | channels | epochs | lr_max | weight_decay | flip | seed | valid acc % | train s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result['runs']:
        c = r['recipe']
        lines.append(f"| {r['step']} | {c['channels']} | {c['epochs']} | {c['lr_max']:g} | {c['weight_decay']:g} | {c['flip']:g} "
                     f"| {r['seed']} | {r['valid_acc']:.2f} | {r['seconds']:.0f} |")
    lines += ["", f"Chosen: `{json.dumps(result['chosen'])}`", "",
              "Training seconds are as measured, whatever else ran on the machine then: they rank the candidates' costs "
              "roughly, they do not time the recipe."]
    path.write_text('\n'.join(lines) + '\n')


if __name__ == '__main__':
    write_markdown(search())
