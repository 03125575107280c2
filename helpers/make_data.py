"""Make the small data sets the course ships in `data/`, reproducibly, from fixed seeds.

    python -m helpers.make_data            # write data/mnist_png/ and data/regression.csv
    python -m helpers.make_data --out DIR  # write them somewhere else (the tests compare the two byte for byte)

- `mnist_png/{train,valid,test}/*.png` + `mnist_png/{train,valid,test}.csv` (columns `file_name`, `label`):
  256 images per split, 28x28 grayscale PNGs, taken from the embedded 5,000 MNIST digits split two ways
  (`embedded_digits(test_per_class=0)`: 400 training / 100 validation digits per class, the split these files were
  first made with): train from the training part, valid and test from the validation part, so no digit is in two
  splits. The PNG set is a data set of its own; its digits may also be in the embedded digits' test split.
- `regression.csv` (columns `x`, `y`): 1-D regression data with undulations and noise whose spread grows with |x|.

Files that exist and differ are not overwritten unless `--force` is given.
"""
from __future__ import annotations
import argparse, filecmp, io, shutil, sys, tempfile
from pathlib import Path

import numpy as np

from exp.nb_01 import course_settings, data_dir, embedded_digits

SPLIT_SIZE = 256


def write_digits(out: Path, n: int = SPLIT_SIZE, seed: int = 0) -> None:
    "Write `n` PNGs and a CSV per split (train/valid/test) under `out`."
    from PIL import Image
    xt, yt, xv, yv = embedded_digits(test_per_class=0, seed=seed)
    splits = {'train': (xt[:n], yt[:n]), 'valid': (xv[:n], yv[:n]), 'test': (xv[n:2*n], yv[n:2*n])}
    for split, (x, y) in splits.items():
        (out/split).mkdir(parents=True, exist_ok=True)
        rows = ['file_name,label']
        for i, (im, label) in enumerate(zip(x, y)):
            name = f'{split}_{i:03d}.png'
            Image.fromarray(im.numpy(), mode='L').save(out/split/name, optimize=False)
            rows.append(f'{name},{int(label)}')
        (out/f'{split}.csv').write_text('\n'.join(rows) + '\n', newline='\n')  # the same bytes on Windows


def regression_curve(x: np.ndarray) -> np.ndarray:
    "The noise-free function behind `regression.csv`: a trend with undulations."
    return 0.5*x + 2*np.sin(1.5*x)


def write_regression(fn: Path, n: int = 600, seed: int = 0) -> None:
    "Write `n` points (x, y) with y = regression_curve(x) + noise whose spread grows with |x|."
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, n)
    y = regression_curve(x) + rng.normal(0, 0.05 + 0.1*np.abs(x))
    fn.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([x, y]), fmt='%.6f', delimiter=',', header='x,y', comments='')
    fn.write_text(buf.getvalue(), newline='\n')


def make_all(out: Path) -> list[Path]:
    "Write every shipped data set under `out`; returns the files written."
    s = course_settings()['data']
    write_digits(out/s['digits_png'])
    write_regression(out/s['regression_csv'])
    return sorted(p for p in out.rglob('*') if p.is_file())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Make the course's shipped data (MNIST PNG subset, regression CSV).")
    p.add_argument('--out', type=Path, default=None, help="output folder (default: the course's data folder)")
    p.add_argument('--force', action='store_true', help="overwrite files that exist and differ")
    a = p.parse_args(argv)
    out = a.out or data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        files = [f.relative_to(tmp) for f in make_all(Path(tmp))]
        differ = [f for f in files if (out/f).exists() and not filecmp.cmp(Path(tmp)/f, out/f, shallow=False)]
        if differ and not a.force:
            print(f"{len(differ)} files in {out} differ from what this command makes (first: {differ[0]}); "
                  "nothing was written. Re-run with --force to overwrite them.", file=sys.stderr)
            return 1
        for f in files:
            (out/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp)/f, out/f)
    print(f"wrote {len(files)} files under {out}")
    return 0


if __name__ == '__main__': sys.exit(main())
