"""Training: models, devices, seeds, training loops, learning-rate schedules and the training command's settings,
logging and run records (re-exported from `exp`).

    from helpers.training import MLP, default_device, set_all_seeds, train_model
"""
from exp.nb_03 import get_model, fit
from exp.nb_04 import MLP, default_device, to_device
from exp.nb_05 import (set_all_seeds, set_deterministic, save_atomic, CheckpointError, save_checkpoint, load_checkpoint,
                       train_model)
from exp.nb_06 import train_simple_network, train_network, exp_gamma
from exp.nb_07 import (SettingsError, Key, check_settings, load_settings, settings_help, setup_logging, save_yaml,
                       resolve_device, make_optimizer, versions, prepare_training, train_from_settings)

__all__ = ['get_model', 'fit', 'MLP', 'default_device', 'to_device', 'set_all_seeds', 'set_deterministic', 'save_atomic',
           'CheckpointError', 'save_checkpoint', 'load_checkpoint', 'train_model', 'train_simple_network', 'train_network', 'exp_gamma', 'SettingsError', 'Key', 'check_settings', 'load_settings',
           'settings_help', 'setup_logging', 'save_yaml', 'resolve_device', 'make_optimizer', 'versions',
           'prepare_training', 'train_from_settings']
