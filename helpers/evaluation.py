"""Evaluation: accuracy and loss of a model over a batch or a whole loader (re-exported from `exp`).

    from helpers.evaluation import compute_accuracy, compute_epoch_loss
"""
from exp.nb_03 import accuracy, check_targets
from exp.nb_04 import compute_epoch_loss, compute_accuracy

__all__ = ['accuracy', 'check_targets', 'compute_epoch_loss', 'compute_accuracy']
