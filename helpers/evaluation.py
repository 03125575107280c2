"""Evaluation: accuracy and loss of a model over a batch or a whole loader (re-exported from `exp`, each loaded only
when used).

    from helpers.evaluation import compute_accuracy, compute_epoch_loss
"""
from helpers._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    'nb_03': ['accuracy', 'check_targets'],
    'nb_04': ['compute_epoch_loss', 'compute_accuracy'],
})
