"""Training: models, devices, seeds, the training loops, the Learner and its callbacks, learning-rate schedules and the
training command's settings, logging and run records, the optimizers built from scratch, their schedules and the
learning-rate finder; the CNN, its initialization, batch norm and the activation-statistics hooks; data-parallel
training on several processes and mixed precision (re-exported from `exp`, each loaded only when used).

    from helpers.training import MLP, default_device, set_all_seeds, train_model, Learner, MetricsCB, adamw, lr_find, get_cnn
"""
from helpers._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    'nb_03': ['get_model', 'fit'],
    'nb_04': ['MLP', 'default_device', 'to_device'],
    'nb_05': ['set_all_seeds', 'set_deterministic', 'save_atomic', 'CheckpointError', 'save_checkpoint', 'load_checkpoint',
              'train_model'],
    'nb_06': ['train_simple_network', 'exp_gamma', 'EVENTS', 'CancelBatchException', 'CancelEpochException',
              'CancelFitException', 'Callback', 'Learner', 'DeviceCB', 'FiniteLossCB', 'HISTORY_COLUMNS', 'history_frame',
              'MetricsCB', 'TrainAccuracyCB', 'ProgressCB', 'ScheduleCB', 'EarlyStoppingCB', 'probe_writable', 'CheckpointCB',
              'LoggingCB',
              'train_network'],
    'nb_07': ['SettingsError', 'Key', 'check_settings', 'load_settings', 'settings_help', 'setup_logging', 'save_yaml',
              'resolve_device', 'make_optimizer', 'versions', 'prepare_training', 'make_schedule', 'make_learner',
              'train_from_settings'],
    'nb_08': ['check_hypers', 'GeneralOptimizer', 'sgd_step', 'compare_optimizers', 'momentum_step', 'l2_reg', 'decoupled_wd',
              'sgd', 'rmsprop_step', 'rmsprop', 'adam_step', 'adam', 'decay_groups', 'adamw', 'cos_anneal', 'warmup_cosine',
              'one_cycle', 'set_hyper', 'HyperScheduleCB', 'LRFinderCB', 'LRFindResult', 'lr_find', 'state_per_param'],
    'nb_09': ['conv_out_size', 'AsImages', 'conv_block', 'get_cnn', 'ActivationStats', 'init_cnn', 'BatchNorm', 'fit_one_cycle',
              'make_model', 'RandomFlipCB'],
    'nb_10': ['rank', 'world_size', 'is_main_process', 'launched_by_torchrun', 'init_distributed', 'cleanup_distributed',
              'distributed_loader', 'dist_sampler', 'SamplerEpochCB', 'DistributedCB', 'MixedPrecisionCB', 'PRECISIONS',
              'COMMAND_SETTINGS', 'command_callbacks', 'free_port', 'LaunchError', 'run_torchrun'],
})
