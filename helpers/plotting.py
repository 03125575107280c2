"""Plotting: images, training curves and predictions; every function returns its matplotlib object (re-exported from
`exp`, each loaded only when used).

    from helpers.plotting import plot_training_loss, plot_accuracy, show_examples
"""
from helpers._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    'nb_01': ['show_image', 'show_images'],
    'nb_05': ['plot_training_loss', 'plot_accuracy', 'show_examples'],
    'nb_07': ['plot_results'],
})
