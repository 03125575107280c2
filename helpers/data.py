"""Data: the digit sources, in-memory data sets and loaders, the PNG+CSV and regression data sets (re-exported from `exp`,
each loaded only when used).

    from helpers.data import get_data, get_test_data, get_dataloaders
"""
from typing import TYPE_CHECKING

from helpers._lazy import lazy_exports

NAMES = ['DATASETS', 'FASHION_CLASSES', 'dataset_name', 'data_dir', 'embedded_split', 'embedded_digits', 'read_idx', 'idx_digits',
         'to_float_rows', 'get_data', 'get_test_data', 'Dataset', 'DataLoader', 'get_dls', 'CSVImageDataset', 'get_dataloaders',
         'RegressionDataset']

# Written by `make export` (tools/topics.py) from the exp modules: do not edit below this line.
__all__, __getattr__, __dir__ = lazy_exports(__name__, NAMES)

if TYPE_CHECKING:  # for editors: each name's definition, in its lecture's module
    from exp.nb_01 import (
        DATASETS, FASHION_CLASSES, dataset_name, data_dir, embedded_split, embedded_digits, read_idx, idx_digits,
        to_float_rows, get_data, get_test_data)
    from exp.nb_03 import (
        Dataset, DataLoader, get_dls)
    from exp.nb_05 import (
        CSVImageDataset, get_dataloaders)
    from exp.nb_06 import (
        RegressionDataset)
