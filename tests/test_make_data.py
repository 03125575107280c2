"The shipped data in data/ is exactly what `python -m helpers.make_data` makes, and the command never clobbers silently."
import filecmp, subprocess, sys
import numpy as np, pandas as pd, pytest
from PIL import Image
from helpers import make_data
from tools.notebooks import REPO
from exp.nb_01 import data_dir, course_settings


def test_committed_data_matches_a_fresh_regeneration(tmp_path):
    files = [f.relative_to(tmp_path) for f in make_data.make_all(tmp_path)]
    assert len(files) == 3*256 + 3 + 1
    differ = [str(f) for f in files if not (data_dir()/f).is_file() or not filecmp.cmp(tmp_path/f, data_dir()/f, shallow=False)]
    assert not differ, f"data/ drifted from helpers.make_data (run `python -m helpers.make_data --force`): {differ[:5]}"


def test_digit_pngs_and_csvs():
    d = data_dir()/course_settings()['data']['digits_png']
    seen = set()
    for split in ('train', 'valid', 'test'):
        df = pd.read_csv(d/f'{split}.csv')
        assert list(df.columns) == ['file_name', 'label'] and len(df) == 256 and df.label.between(0, 9).all()
        im = Image.open(d/split/df.file_name[0])
        assert im.size == (28, 28) and im.mode == 'L'
        arrs = {np.asarray(Image.open(d/split/f)).tobytes() for f in df.file_name}
        assert not (arrs & seen), f"{split} shares images with an earlier split"
        seen |= arrs


def test_regression_csv():
    df = pd.read_csv(data_dir()/course_settings()['data']['regression_csv'])
    assert list(df.columns) == ['x', 'y'] and 300 <= len(df) <= 1000
    resid = df.y - make_data.regression_curve(df.x.to_numpy())
    inner, outer = resid[df.x.abs() < 1].std(), resid[df.x.abs() > 3].std()
    assert outer > 2*inner, "noise spread should grow along |x|"


def test_refuses_to_overwrite_changed_files(tmp_path):
    cmd = [sys.executable, '-m', 'helpers.make_data', '--out', str(tmp_path)]
    assert subprocess.run(cmd, cwd=REPO, capture_output=True).returncode == 0
    (tmp_path/'regression.csv').write_text('x,y\n1,2\n')
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 1 and 'differ' in r.stderr and '--force' in r.stderr
    assert (tmp_path/'regression.csv').read_text() == 'x,y\n1,2\n'
    assert subprocess.run(cmd + ['--force'], cwd=REPO, capture_output=True).returncode == 0
    assert (tmp_path/'regression.csv').read_text().startswith('x,y\n')


@pytest.mark.parametrize('value, force', [('1', True), ('yes', True), ('true', True), ('0', False), ('no', False), ('', False)])
def test_make_switches_take_yes_and_no(value, force):
    "`make data FORCE=…` (a dry run): 1, yes, true turn --force on; 0, no, nothing leave it off."
    job = subprocess.run(['make', '-n', 'data', f'FORCE={value}'], cwd=REPO, capture_output=True, text=True)
    line = next(l for l in job.stdout.splitlines() if 'helpers.make_data' in l).strip()  # (make test's make may add lines)
    assert job.returncode == 0 and line.endswith('helpers.make_data --force' if force else 'helpers.make_data'), job


def test_make_refuses_a_switch_it_cannot_read():
    job = subprocess.run(['make', '-n', 'course', 'DOWNLOAD=maybe'], cwd=REPO, capture_output=True, text=True)
    assert job.returncode == 2 and 'DOWNLOAD=maybe is not a switch: write DOWNLOAD=1 to turn it on, or leave it out' in job.stderr
