"""Plotting: images, training curves and predictions; every function returns its matplotlib object (re-exported from `exp`).

    from helpers.plotting import plot_training_loss, plot_accuracy, show_examples
"""
from exp.nb_01 import show_image, show_images
from exp.nb_05 import plot_training_loss, plot_accuracy, show_examples
from exp.nb_07 import plot_results

__all__ = ['show_image', 'show_images', 'plot_training_loss', 'plot_accuracy', 'show_examples', 'plot_results']
