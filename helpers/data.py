"""Data: the digit sources, in-memory data sets and loaders, the PNG+CSV and regression data sets (re-exported from `exp`).

    from helpers.data import get_data, get_test_data, get_dataloaders
"""
from exp.nb_01 import (DATASETS, FASHION_CLASSES, dataset_name, data_dir, embedded_split, embedded_digits, read_idx,
                       idx_digits, to_float_rows, get_data, get_test_data)
from exp.nb_03 import Dataset, DataLoader, get_dls
from exp.nb_05 import CSVImageDataset, get_dataloaders
from exp.nb_06 import RegressionDataset
from exp.nb_07 import holdout_split

__all__ = ['DATASETS', 'FASHION_CLASSES', 'dataset_name', 'data_dir', 'embedded_split', 'embedded_digits', 'read_idx',
           'idx_digits', 'to_float_rows', 'get_data', 'get_test_data', 'Dataset', 'DataLoader', 'get_dls', 'CSVImageDataset', 'get_dataloaders',
           'RegressionDataset', 'holdout_split']
