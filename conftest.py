"""Root conftest: every test — unit tests and the notebooks nbval runs — uses the embedded digits, quick mode and no network."""
import os

os.environ.setdefault('DLF_DATASET', 'embedded')
os.environ.setdefault('DLF_QUICK', '1')
os.environ['DLF_OFFLINE'] = '1'
os.environ.setdefault('MPLBACKEND', 'Agg')
