"""Evaluation: accuracy (in percent) and loss of a model over a whole loader, and the check of class targets (re-exported
from `exp`, each loaded only when used).

    from helpers.evaluation import compute_accuracy, compute_epoch_loss
"""
from typing import TYPE_CHECKING

from helpers._lazy import lazy_exports

NAMES = ['check_targets', 'compute_epoch_loss', 'compute_accuracy']

# Written by `make export` (tools/topics.py) from the exp modules: do not edit below this line.
__all__, __getattr__, __dir__ = lazy_exports(__name__, NAMES)

if TYPE_CHECKING:  # for editors: each name's definition, in its lecture's module
    from exp.nb_03 import (
        check_targets)
    from exp.nb_04 import (
        compute_epoch_loss, compute_accuracy)
