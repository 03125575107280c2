"""Plotting: images, training curves and predictions; every function returns its matplotlib object (re-exported from
`exp`, each loaded only when used).

    from helpers.plotting import plot_training_loss, plot_accuracy, show_examples
"""
from typing import TYPE_CHECKING

from helpers._lazy import lazy_exports

NAMES = ['show_image', 'show_images', 'plot_training_loss', 'plot_accuracy', 'show_examples', 'plot_results']

# Written by `make export` (tools/topics.py) from the exp modules: do not edit below this line.
__all__, __getattr__, __dir__ = lazy_exports(__name__, NAMES)

if TYPE_CHECKING:  # for editors: each name's definition, in its lecture's module
    from exp.nb_01 import (
        show_image, show_images)
    from exp.nb_05 import (
        plot_training_loss, plot_accuracy, show_examples)
    from exp.nb_07 import (
        plot_results)
