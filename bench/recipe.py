"""Fashion-MNIST recipes chosen on the validation split only: lecture 09's CNN and the benchmark's course MLP.

    python -m bench.recipe            # the CNN: about 20 min on 2 idle cores (11 runs of 1-2.5 min); bench/recipe.json and .md
    python -m bench.recipe mlp        # the MLP of bench/fashion.py: a few minutes; bench/mlp_recipe.json and .md

Every CNN run trains lecture 09's CNN exactly as its section 5 does (inputs normalized by the training images' mean and
std, `init_cnn(get_cnn(channels))`, `fit_one_cycle` with lecture 08's AdamW and one-cycle, `RandomFlipCB`) on the
50,000 training images of `get_data('fashion')` and reads the accuracy on its 10,000 validation images (the last sixth
of the official training set); every MLP run trains `bench.fashion.course_mlp` on the same split. The official test
images are never loaded here.

The search is greedy, one setting at a time, in the order of `STEPS`: starting from `START`, each candidate value of a
setting is trained with the others as chosen so far, and the value with the best final validation accuracy is kept
(the current value wins ties). Then the chosen recipe and `START` are trained again with a second seed, to show how
much of a difference the seed alone makes. Finished runs are kept in recipe.json, so an interrupted search continues.
"""
from __future__ import annotations
import json, time
from pathlib import Path

import torch

from bench.fashion import course_cnn, course_mlp
from exp.nb_09 import get_data

HERE = Path(__file__).parent
START = {'channels': [16, 32, 64, 128], 'epochs': 8, 'batch_size': 128, 'lr_max': 1e-2, 'weight_decay': 0.05, 'flip': 0.5}
STEPS = [('flip', [0.0]),
         ('weight_decay', [0.01]),
         ('lr_max', [5e-3, 2e-2, 4e-2]),
         ('channels', [[8, 16, 32, 64], [16, 32, 64, 128, 256]]),
         ('epochs', [5])]

# The course MLP of bench/fashion.py (one sigmoid hidden layer, Adam, the rate × lr_decay after each epoch); epochs fixed.
MLP_START = {'n_hidden': 256, 'lr': 3e-3, 'lr_decay': 0.88, 'batch_size': 128, 'epochs': 25}
MLP_STEPS = [('lr', [1e-3, 1e-2]), ('lr_decay', [1.0, 0.8]), ('n_hidden', [100, 512])]


def train_on_validation(recipe: dict, seed: int, data) -> dict:
    "Train the CNN `recipe` with `seed` on the 50,000 training images; final validation accuracy (%) and training seconds."
    curve, _ = course_cnn(*data, seed=seed, epochs=recipe['epochs'], recipe=recipe)
    return {'recipe': recipe, 'seed': seed, 'valid_acc': curve[-1][1], 'seconds': round(curve[-1][0], 1)}


def mlp_on_validation(recipe: dict, seed: int, data) -> dict:
    "Train the MLP `recipe` with `seed` on the 50,000 training images; final validation accuracy (%) and training seconds."
    curve, _ = course_mlp(*data, seed=seed, recipe=recipe)
    return {'recipe': recipe, 'seed': seed, 'valid_acc': curve[-1][1], 'seconds': round(curve[-1][0], 1)}


def search(path: Path = HERE/'recipe.json', start: dict = None, steps: list = None, train=None) -> dict:
    """Run (or continue) the greedy search from `start` over `steps` with `train(recipe, seed, data)` (default: the
    CNN's `START`, `STEPS`, `train_on_validation`); returns {'runs': [...], 'chosen': recipe}."""
    start, steps, train = start or START, steps or STEPS, train or train_on_validation
    done = json.loads(path.read_text())['runs'] if path.exists() else []
    data = get_data('fashion', download=False, log=lambda msg: None)
    torch.set_num_threads(2)
    def run(recipe, seed, step):
        for r in done:
            if r['recipe'] == recipe and r['seed'] == seed: return r
        r = {'step': step, **train(recipe, seed, data)}
        done.append(r)
        path.write_text(json.dumps({'runs': done}, indent=1))
        print(f"{step:<13} {json.dumps(recipe)} seed {seed}: valid {r['valid_acc']:.2f}% ({r['seconds']:.0f} s)", flush=True)
        return r
    best = dict(start)
    best_acc = run(best, 0, 'start')['valid_acc']
    for key, values in steps:
        for v in values:
            acc = run({**best, key: v}, 0, key)['valid_acc']
            if acc > best_acc: best_acc, chosen = acc, v
            else: chosen = None
            if chosen is not None: best = {**best, key: chosen}
    for recipe in (best, start): run(recipe, 1, 'second seed')
    result = {'runs': done, 'chosen': best}
    path.write_text(json.dumps(result, indent=1))
    return result


def write_markdown(result: dict, path: Path = HERE/'recipe.md', title: str = "Lecture 09's Fashion-MNIST recipe",
                   command: str = 'python -m bench.recipe') -> None:
    "The search as a table: every run in order, the chosen recipe, the seed spread."
    keys = list(result['runs'][0]['recipe'])
    show = lambda v: f'{v:g}' if isinstance(v, float) else str(v)
    lines = [f"# {title}, chosen on validation", "",
             f"`{command}` — {time.strftime('%Y-%m-%d')}, 2 CPU "
             "threads. Training: 50,000 images; accuracy: the 10,000 validation images (last sixth of the training set). "
             "The test images are not read.", "",
             f"| step | {' | '.join(keys)} | seed | valid acc % | train s |", '|---|' + '---:|' * (len(keys) + 3)]
    for r in result['runs']:
        lines.append(f"| {r['step']} | {' | '.join(show(r['recipe'][k]) for k in keys)} | {r['seed']} | {r['valid_acc']:.2f} | {r['seconds']:.0f} |")
    lines += ["", f"Chosen: `{json.dumps(result['chosen'])}`", "",
              "Training seconds are as measured, whatever else ran on the machine then: they rank the candidates' costs "
              "roughly, they do not time the recipe."]
    path.write_text('\n'.join(lines) + '\n')


if __name__ == '__main__':
    import sys
    if sys.argv[1:] == ['mlp']:
        write_markdown(search(HERE/'mlp_recipe.json', MLP_START, MLP_STEPS, mlp_on_validation), HERE/'mlp_recipe.md',
                       "The benchmark's course MLP on Fashion-MNIST", 'python -m bench.recipe mlp')
    else: write_markdown(search())
