"""Training: one engine, lecture 06's `Learner`, with its callbacks and its one history record; the seeds' faces over it
(STAT453's `train_model`, Inside Deep Learning's `train_network`); models, devices, seeds and checkpoints; the training
command's settings, data and results folder; the optimizers and schedules built from scratch and the learning-rate
finder; the CNN, its initialization, batch norm and activation statistics; several processes and mixed precision
(re-exported from `exp`, each loaded only when used). The loops that led to the Learner stay in their lectures.

    from helpers.training import Learner, MetricsCB, train_model, adamw, one_cycle, HyperScheduleCB, lr_find, get_cnn
"""
from typing import TYPE_CHECKING

from helpers._lazy import lazy_exports

NAMES = [
    'MLP', 'default_device', 'to_device',                                                                       # lecture 04
    'set_all_seeds', 'set_deterministic', 'save_atomic', 'CheckpointError', 'save_checkpoint', 'load_checkpoint',  # 05
    'EVENTS', 'CancelBatchException', 'CancelEpochException', 'CancelFitException', 'Callback', 'Learner', 'DeviceCB',  # 06
    'FiniteLossCB', 'HISTORY_COLUMNS', 'history_frame', 'MetricsCB', 'TrainAccuracyCB', 'n_batches', 'ProgressCB',
    'EarlyStoppingCB', 'probe_writable', 'CheckpointCB', 'LoggingCB', 'train_network', 'train_model',
    'SettingsError', 'Key', 'MODELS', 'OPTIMIZERS', 'TRAIN_SETTINGS', 'check_settings', 'load_settings', 'settings_help',  # 07
    'setup_logging', 'save_yaml', 'resolve_device', 'versions', 'processes', 'TrainingData', 'load_data',
    'SETTINGS_CALLBACKS', 'settings_callbacks', 'make_learner', 'train_from_settings', 'RUN_FILE', 'RESULT_FILES',
    'run_record', 'check_results_folder', 'start_results_folder',
    'check_hypers', 'GeneralOptimizer', 'sgd_step', 'compare_optimizers', 'momentum_step', 'l2_reg', 'decoupled_wd',  # 08
    'sgd', 'rmsprop_step', 'rmsprop', 'adam_step', 'adam', 'decay_groups', 'adamw', 'cos_anneal', 'warmup_cosine',
    'one_cycle', 'set_hyper', 'HyperScheduleCB', 'LRFinderCB', 'LRFindResult', 'lr_find', 'state_per_param', 'SCHEDULES',
    'conv_out_size', 'AsImages', 'conv_block', 'get_cnn', 'ActivationStats', 'init_cnn', 'BatchNorm', 'fit_one_cycle',  # 09
    'RandomFlipCB', 'FASHION_RECIPE',
    'rank', 'world_size', 'is_main_process', 'launched_by_torchrun', 'init_distributed', 'cleanup_distributed',  # 10
    'ShardedLoader', 'DistributedCB', 'PRECISIONS', 'MixedPrecisionCB', 'free_port', 'LaunchError', 'run_torchrun',
]

# Written by `make export` (tools/topics.py) from the exp modules: do not edit below this line.
__all__, __getattr__, __dir__ = lazy_exports(__name__, NAMES)

if TYPE_CHECKING:  # for editors: each name's definition, in its lecture's module
    from exp.nb_04 import (
        MLP, default_device, to_device)
    from exp.nb_05 import (
        set_all_seeds, set_deterministic, save_atomic, CheckpointError, save_checkpoint, load_checkpoint)
    from exp.nb_06 import (
        EVENTS, CancelBatchException, CancelEpochException, CancelFitException, Callback, Learner, DeviceCB,
        FiniteLossCB, HISTORY_COLUMNS, history_frame, MetricsCB, TrainAccuracyCB, n_batches, ProgressCB,
        EarlyStoppingCB, probe_writable, CheckpointCB, LoggingCB, train_network, train_model)
    from exp.nb_07 import (
        SettingsError, Key, MODELS, OPTIMIZERS, TRAIN_SETTINGS, check_settings, load_settings, settings_help,
        setup_logging, save_yaml, resolve_device, versions, processes, TrainingData, load_data, SETTINGS_CALLBACKS,
        settings_callbacks, make_learner, train_from_settings, RUN_FILE, RESULT_FILES, run_record,
        check_results_folder, start_results_folder)
    from exp.nb_08 import (
        check_hypers, GeneralOptimizer, sgd_step, compare_optimizers, momentum_step, l2_reg, decoupled_wd, sgd,
        rmsprop_step, rmsprop, adam_step, adam, decay_groups, adamw, cos_anneal, warmup_cosine, one_cycle,
        set_hyper, HyperScheduleCB, LRFinderCB, LRFindResult, lr_find, state_per_param, SCHEDULES)
    from exp.nb_09 import (
        conv_out_size, AsImages, conv_block, get_cnn, ActivationStats, init_cnn, BatchNorm, fit_one_cycle,
        RandomFlipCB, FASHION_RECIPE)
    from exp.nb_10 import (
        rank, world_size, is_main_process, launched_by_torchrun, init_distributed, cleanup_distributed,
        ShardedLoader, DistributedCB, PRECISIONS, MixedPrecisionCB, free_port, LaunchError, run_torchrun)
