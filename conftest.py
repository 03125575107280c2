"""Root conftest: every test — unit tests and the notebooks nbval runs — uses the embedded digits, quick mode and no network."""
import os

pytest_plugins = ['tools.pytest_lectures']  # `--lectures`: each lecture executed once, every check derived from that run

os.environ['DLF_DATASET'] = 'embedded'
os.environ['DLF_QUICK'] = '1'  # also keeps the lecture-running tests from rewriting committed notebooks
os.environ['DLF_OFFLINE'] = '1'
os.environ.setdefault('MPLBACKEND', 'Agg')
