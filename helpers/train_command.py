"""The course's training command: train the MLP as a YAML settings file says, into a results folder.

    python -m helpers.train_model --settings_path settings/mnist_mlp.yaml --results_path results/mnist_mlp
    dlf-train --settings_path settings/mnist_mlp.yaml --results_path results/mnist_mlp   # same, as a console script

From Python (a notebook): `from helpers.train_command import train_command; train_command([...arguments...])`.
`helpers/train_model.py` only runs it for `python -m helpers.train_model`; the *function* `train_model` (lecture 05)
lives in `helpers.training`, so the two never clash.

The pieces (settings schema and checks, logging, atomic YAML, `train_from_settings`) are exported by lecture 07
(`exp.nb_07`); this module adds the arguments, the results-folder policy and the wiring of the log.
"""
from __future__ import annotations
import argparse, sys
from pathlib import Path

import yaml

from exp.nb_00 import quick_mode
from exp.nb_07 import (SettingsError, load_settings, resolve_device, save_yaml, settings_help, setup_logging,
                       train_from_settings, PLOT_FILES)

RESULT_FILES = ('results.yaml', 'training.log', 'checkpoint.pt', 'settings.yaml', 'mode.yaml', *PLOT_FILES)

EPILOG = f"""\
what it writes into DIR:
  training.log       everything printed, time-stamped (appended to by --resume)
  settings.yaml      the settings as used, defaults filled in (written before training)
  mode.yaml          whether quick mode was on (--resume must continue in the same mode)
  checkpoint.pt      model, optimizer, history and RNG state after the latest epoch
  results.yaml       per-epoch train/valid accuracy, every minibatch loss, test accuracy,
                     the settings, data sizes, device, library versions, timings
  {PLOT_FILES[0]:<18} minibatch loss and its running average
  {PLOT_FILES[1]:<18} train and validation accuracy per epoch

data: get_data(dataset) gives a training and a validation part; the last valid_fraction of
the training part is held out for validation, and get_data's validation part is the test
set, evaluated once after training. DLF_QUICK=1 (quick mode) caps the epochs and data sizes.

settings keys (YAML `key: value` lines; example files in the repository's settings/ folder):
{settings_help()}
"""


class ResultsFolderError(Exception):
    "A results folder the command will not write into as asked; the message says what to do instead."


def parse_args(argv=None) -> argparse.Namespace:
    "The command's arguments (argparse exits with its usage message when a required one is missing)."
    prog = 'dlf-train' if Path(sys.argv[0]).name == 'dlf-train' else 'python -m helpers.train_model'
    p = argparse.ArgumentParser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                                description="Train the course's MLP as a YAML settings file says; write the log,\n"
                                            "results, plots and checkpoints into a results folder.")
    p.add_argument('--settings_path', required=True, type=Path, metavar='SETTINGS.yaml',
                   help="YAML settings file; every key is checked before training (keys below)")
    p.add_argument('--results_path', required=True, type=Path, metavar='DIR',
                   help="results folder; created if missing; must not already hold results (see --overwrite)")
    g = p.add_mutually_exclusive_group()
    g.add_argument('--resume', action='store_true',
                   help="continue an interrupted run in DIR from its checkpoint (same settings required)")
    g.add_argument('--overwrite', action='store_true',
                   help="delete the results already in DIR and train from the start")
    return p.parse_args(argv)


def prepare_results_dir(d: Path, settings: dict, resume: bool = False, overwrite: bool = False) -> None:
    "Check results folder `d` against the flags (refuse, clear or resume), create it, and save the settings in it."
    if d.exists() and not d.is_dir(): raise ResultsFolderError(f"{d} exists and is not a folder; choose another --results_path.")
    present = [f for f in RESULT_FILES if (d/f).exists()]
    if resume:
        if (d/'results.yaml').exists():
            raise ResultsFolderError(f"{d} holds a finished run (results.yaml); there is nothing to resume. "
                                     "Use --overwrite to train again, or another --results_path.")
        if not (d/'checkpoint.pt').exists():
            raise ResultsFolderError(f"{d} has no checkpoint.pt to resume from. Run without --resume"
                                     + (" and with --overwrite (the folder holds files of an earlier start)." if present else '.'))
        saved = load_settings(d/'settings.yaml') if (d/'settings.yaml').exists() else None
        if saved != settings:
            changed = sorted(k for k in settings if saved is None or saved.get(k) != settings[k])
            raise ResultsFolderError(f"the settings differ from those the run in {d} started with (settings.yaml): "
                                     f"{', '.join(f'{k} was {saved[k]!r}, now {settings[k]!r}' for k in changed) if saved else 'none saved'}. "
                                     "Resume with the same settings, or start again with --overwrite.")
        mode = yaml.safe_load((d/'mode.yaml').read_text()) if (d/'mode.yaml').exists() else None
        if mode != _mode():
            was = 'unknown (no mode.yaml)' if mode is None else f"quick mode {'on' if mode['quick_mode'] else 'off'}"
            raise ResultsFolderError(f"the run in {d} started with {was}; now quick mode is {'on' if quick_mode() else 'off'} "
                                     "(DLF_QUICK), which changes the epochs and the data. Resume in the same mode, or start "
                                     "again with --overwrite.")
        return
    if present and not overwrite:
        raise ResultsFolderError(f"{d} already holds results ({', '.join(present)}). Use --overwrite to replace them, "
                                 "--resume to continue an interrupted run, or another --results_path.")
    for f in present: (d/f).unlink()
    d.mkdir(parents=True, exist_ok=True)
    save_yaml(settings, d/'settings.yaml')
    save_yaml(_mode(), d/'mode.yaml')


def _mode() -> dict: return {'quick_mode': quick_mode()}


def _remove_start(d: Path, created: bool) -> None:
    "Undo a fresh start that trained nothing: delete the command's files in `d`, and `d` itself if this run made it."
    for f in RESULT_FILES: (d/f).unlink(missing_ok=True)
    if created and not any(d.iterdir()): d.rmdir()


def train_command(argv=None) -> int:
    "Run the command with arguments `argv` (default: the command line); returns the exit status (0 done, 1 training failed, 2 bad settings or results folder)."
    a = parse_args(argv)
    created = not a.results_path.exists()
    try:
        settings = load_settings(a.settings_path)
        resolve_device(settings['device'], str(a.settings_path))
        prepare_results_dir(a.results_path, settings, a.resume, a.overwrite)
    except (SettingsError, ResultsFolderError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import matplotlib.pyplot as plt
    plt.switch_backend('agg')  # the command only saves figures; never open a window
    log = setup_logging(a.results_path/'training.log', append=a.resume)
    try:
        log.info(f"{'resuming' if a.resume else 'training'}: settings {a.settings_path}, results {a.results_path}")
        train_from_settings(settings, a.results_path, resume=a.resume, log=log.info)
        return 0
    except SettingsError as e:  # a value only the loaded data shows to be impossible (valid_fraction), before training
        bad_setting = e
    except KeyboardInterrupt:
        log.info("interrupted; continue with --resume (the checkpoint holds the last finished epoch)")
        return 130
    except Exception:
        log.exception("training failed")
        return 1
    finally:
        for h in log.handlers[:]: log.removeHandler(h); h.close()
    print(f"error: {a.settings_path}: {bad_setting}", file=sys.stderr)
    if not a.resume: _remove_start(a.results_path, created)
    return 2


main = train_command  # the console script's entry point (pyproject: dlf-train)

if __name__ == '__main__': sys.exit(train_command())
