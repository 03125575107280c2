"""Self-checking exercises: `check(lecture, name, answer)` tests a learner's answer and prints whether it passes.

    from helpers.exercises import check
    check('08', 'adagrad_step', adagrad_step)

An answer cell starts as a function whose body raises `NotImplementedError`; the check then says "not yet solved"
instead of failing, so a lecture runs top to bottom as committed. Each check runs the answer on fixed inputs and
compares it with values computed here independently; reference solutions live in `solutions/ex_NN.py`, and the tests
prove that every check passes on them and fails on a wrong answer. Add a check for a new lecture with `@exercise`.
"""
from __future__ import annotations
from typing import Callable

import torch

CHECKS: dict[str, dict[str, Callable]] = {}


def exercise(lecture: str, name: str):
    "Register the decorated function as the check of exercise `name` of lecture `lecture` ('00', '01', …)."
    def register(fn):
        CHECKS.setdefault(lecture, {})[name] = fn
        return fn
    return register


def check(lecture: str, name: str, answer) -> bool:
    "Test `answer` with the check of `lecture`'s exercise `name`; print ✓ passed, ✗ and why, or 'not yet solved'."
    if name not in CHECKS.get(lecture, {}):
        raise KeyError(f"no exercise {name!r} in lecture {lecture!r}; checks exist for {sorted(CHECKS.get(lecture, {}))}.")
    try: CHECKS[lecture][name](answer)
    except NotImplementedError:
        print(f"not yet solved: write `{name}` in the answer cell above, run it, then run this cell again.")
        return False
    except AssertionError as e:
        print(f"✗ {name}: not right yet — {e}")
        return False
    except Exception as e:
        print(f"✗ {name}: your answer raised {type(e).__name__}: {e}")
        return False
    print(f"✓ {name}: passed")
    return True



@exercise('08', 'adagrad_step')
def _adagrad_step(adagrad_step):
    "adagrad_step(p, d, state, hp) as the only step of a GeneralOptimizer, checked step by step against torch.optim.Adagrad."
    from exp.nb_08 import GeneralOptimizer, compare_optimizers
    g = torch.Generator().manual_seed(8)
    x, y = torch.rand(256, 784, generator=g), torch.randint(0, 10, (256,), generator=g)
    diffs = compare_optimizers(lambda m: GeneralOptimizer(m.parameters(), [adagrad_step], lr=0.05, eps=1e-10),
                               lambda m: torch.optim.Adagrad(m.parameters(), lr=0.05, eps=1e-10), x, y, steps=20, bs=32)
    worst = max(diffs)
    assert worst == worst, "the parameters became NaN: check the division (is ε added to the root?)"
    first = next((i for i, d in enumerate(diffs) if d > 1e-6), None)
    assert first is None, (f"after step {first + 1} a parameter differs from torch.optim.Adagrad's by {diffs[first]:.2g} "
                           f"(largest over 20 steps {worst:.2g}); compare with the rule: s is the sum of all squared gradients so far, "
                           "the step lr·d/(√s + ε)")
