"""Data: the digit sources, in-memory data sets and loaders, the PNG+CSV and regression data sets (re-exported from `exp`,
each loaded only when used).

    from helpers.data import get_data, get_test_data, get_dataloaders
"""
from helpers._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    'nb_01': ['DATASETS', 'FASHION_CLASSES', 'dataset_name', 'data_dir', 'embedded_split', 'embedded_digits', 'read_idx',
              'idx_digits', 'to_float_rows', 'get_data', 'get_test_data'],
    'nb_03': ['Dataset', 'DataLoader', 'get_dls'],
    'nb_05': ['CSVImageDataset', 'get_dataloaders'],
    'nb_06': ['RegressionDataset'],
})
