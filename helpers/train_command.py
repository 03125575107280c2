"""The course's training command: train the MLP or the CNN as a YAML settings file says, into a results folder.

    python -m helpers.train_model --settings_path settings/mnist_mlp.yaml --results_path results/mnist_mlp
    dlf-train --settings_path settings/mnist_mlp.yaml --results_path results/mnist_mlp   # same, as a console script
    torchrun --nproc_per_node 2 -m helpers.train_model --settings_path ... --results_path ...   # 2 processes (lecture 10)

From Python (a notebook): `from helpers.train_command import train_command; train_command([...arguments...])`.
`helpers/train_model.py` only runs it for `python -m helpers.train_model`; the *function* `train_model` (lecture 05)
lives in `helpers.training`, so the two never clash.

The pieces (settings schema and checks, logging, atomic YAML, `train_from_settings`) are exported by lecture 07
(`exp.nb_07`); this module adds the arguments, the results-folder policy and the wiring of the log. Under torchrun
(lecture 10: `exp.nb_10`, whose schema adds the key `precision`) every process trains its share of each batch; rank 0
alone checks and prepares the results folder, logs and writes files, and a failing rank names itself.
"""
from __future__ import annotations
import argparse, inspect, logging, os, sys, traceback
from pathlib import Path

import torch.distributed as dist
import yaml

from exp.nb_00 import quick_mode
from exp import nb_01
from exp.nb_01 import DATASETS, get_data, get_test_data
from exp.nb_04 import MLP
from exp.nb_05 import CheckpointError
from exp.nb_06 import probe_writable
from exp.nb_07 import (SettingsError, load_settings, resolve_device, save_yaml, settings_help, setup_logging,
                       train_from_settings, PLOT_FILES)


def _nb10():
    """Lecture 10's module: the newest settings schema (`COMMAND_SETTINGS`: lecture 07's keys, `model` and `channels` of
    lecture 09, `precision`), `make_model` (lecture 09) and the helpers for several processes. Imported when the command
    runs or prints its help, so that importing this module (lecture 07 does) loads no later lecture."""
    from exp import nb_10
    return nb_10


def newest_schema():
    "The settings schema the command checks and the function that builds the model the settings name."
    return _nb10().COMMAND_SETTINGS, _nb10().make_model


RESULT_FILES = ('results.yaml', 'training.log', 'checkpoint.pt', 'settings.yaml', 'mode.yaml', *PLOT_FILES)
START_FILES = ('settings.yaml', 'mode.yaml', 'training.log')  # what a start writes before its first epoch
N_CLASSES = inspect.signature(MLP).parameters['n_out'].default  # the classes the command's MLP predicts


def epilog() -> str:
    "The text after the options in --help: the files, the data, the checks, several processes, every settings key."
    return f"""\
what it writes into DIR:
  training.log       everything printed, time-stamped (appended to by --resume)
  settings.yaml      the settings as used, defaults filled in (written before training)
  mode.yaml          whether quick mode was on (--resume must continue in the same mode)
  checkpoint.pt      model, optimizer, history and RNG state after the latest epoch
  results.yaml       per-epoch train/valid accuracy, every minibatch loss, test accuracy,
                     the settings, data sizes, device, library versions, timings
  {PLOT_FILES[0]:<18} minibatch loss and its running average
  {PLOT_FILES[1]:<18} train and validation accuracy per epoch

data: get_data(dataset) gives the training and validation splits (validation watches training
and compares settings), get_test_data(dataset) the test split — MNIST's and Fashion-MNIST's
official 10,000 test images, the embedded digits' fixed test part — evaluated once, after
training. DLF_QUICK=1 (quick mode) caps the epochs and data sizes.
The data source is the settings key `dataset` only: the DLF_DATASET variable, which the
lectures read, does not apply to this command (the log notes it when it is set otherwise).

before writing anything, the command checks the settings, the results folder (writable, no
results of another run, your settings file not inside it) and the data (it loads, the split
has training, validation and test rows, labels are classes 0..{N_CLASSES - 1}). A start that
fails or is stopped before its first epoch ends leaves no checkpoint: run the same command
again (no --overwrite needed). Exit status: 0 done, 1 training or loading the data failed,
2 bad settings or results folder, 130 interrupted.

several processes (lecture 10): `torchrun --nproc_per_node N -m helpers.train_model ...` runs
N processes that each train on their share of every batch (batch_size is per process: the
effective batch is N x batch_size) with gradients averaged in every step; rank 0 alone writes
the results folder, and --resume works the same. A rank that fails ends the whole job.

settings keys (YAML `key: value` lines; example files in the repository's settings/ folder):
{settings_help(newest_schema()[0])}
"""


class ResultsFolderError(Exception):
    "A results folder the command will not write into as asked; the message says what to do instead."


class DataError(Exception):
    "Data the settings name that cannot be loaded or used; the message names the data set and what to do."


def parse_args(argv=None) -> argparse.Namespace:
    "The command's arguments (argparse exits with its usage message when a required one is missing)."
    prog = 'dlf-train' if Path(sys.argv[0]).name == 'dlf-train' else 'python -m helpers.train_model'
    p = argparse.ArgumentParser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog(),
                                description="Train the course's MLP or CNN as a YAML settings file says; write the log,\n"
                                            "results, plots and checkpoints into a results folder.")
    p.add_argument('--settings_path', required=True, type=Path, metavar='SETTINGS.yaml',
                   help="YAML settings file; every key is checked before training (keys below)")
    p.add_argument('--results_path', required=True, type=Path, metavar='DIR',
                   help="results folder; created if missing; must not already hold results (see --overwrite)")
    g = p.add_mutually_exclusive_group()
    g.add_argument('--resume', action='store_true',
                   help="continue an interrupted run in DIR from its checkpoint (same settings required)")
    g.add_argument('--overwrite', action='store_true',
                   help="delete the results already in DIR (once every check has passed) and train from the start")
    return p.parse_args(argv)


def _unfinished_start(d: Path) -> bool:
    "Whether `d` holds only the files of a start that finished no epoch (mode.yaml, no checkpoint, results or plots)."
    return (d/'mode.yaml').is_file() and not any((d/f).exists() for f in RESULT_FILES if f not in START_FILES)


def _read_mode(d: Path):
    "The mode saved in `d`/mode.yaml ({'quick_mode': bool}), None if there is none; a ResultsFolderError if it is damaged."
    f = d/'mode.yaml'
    if not f.exists(): return None
    try: mode = yaml.safe_load(f.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError): mode = None
    if not (isinstance(mode, dict) and set(mode) == {'quick_mode'} and isinstance(mode['quick_mode'], bool)):
        raise ResultsFolderError(f"{f} is damaged: it should be the one line `quick_mode: true` or `quick_mode: false` (the mode "
                                 "the run started in). Write that line back if you know the mode, or start again with --overwrite.")
    return mode


def _written_by_command(f: Path) -> bool:
    """Whether settings file `f` reads as the command writes its settings: plain `key: value` lines exactly as
    `yaml.safe_dump` makes them, no comments — also when an earlier version of the course had other keys."""
    try:
        text = f.read_text()
        raw = yaml.safe_load(text)
        return isinstance(raw, dict) and text == yaml.safe_dump(raw, sort_keys=False)
    except (OSError, UnicodeDecodeError, yaml.YAMLError): return False


def check_results_dir(d: Path, settings: dict, resume: bool = False, overwrite: bool = False, settings_path: Path = None) -> bool:
    """Check results folder `d` against the flags without changing anything (refuse with a ResultsFolderError saying
    what to do); returns whether `d` holds an unfinished start (no epoch finished) that a fresh run replaces."""
    if d.exists() and not d.is_dir(): raise ResultsFolderError(f"{d} exists and is not a folder; choose another --results_path.")
    if settings_path is not None and not resume and any(_same_file(settings_path, d/f) for f in RESULT_FILES):
        raise ResultsFolderError(f"--settings_path {settings_path} is inside the results folder, where the command writes its own "
                                 f"{settings_path.name}: keep your settings file elsewhere (e.g. in settings/), or choose another "
                                 "--results_path. Nothing was changed.")
    present = [f for f in RESULT_FILES if (d/f).exists()]
    if resume:
        if (d/'results.yaml').exists():
            raise ResultsFolderError(f"{d} holds a finished run (results.yaml); there is nothing to resume. "
                                     "Use --overwrite to train again, or another --results_path.")
        if not (d/'checkpoint.pt').exists():
            raise ResultsFolderError(f"{d} has no checkpoint.pt to resume from. Run without --resume" +
                                     (": the folder holds a start that finished no epoch, which a run without --resume replaces."
                                      if _unfinished_start(d) else " and with --overwrite (the folder holds files of an earlier start)."
                                      if present else '.'))
        try: saved = load_settings(d/'settings.yaml', newest_schema()[0]) if (d/'settings.yaml').exists() else None
        except SettingsError as e:
            raise ResultsFolderError(f"{e} This file holds the settings the run in {d} started with: restore it, or start "
                                     "again with --overwrite.") from None
        if saved != settings:
            changed = sorted(k for k in settings if saved is None or saved.get(k) != settings[k])
            raise ResultsFolderError(f"the settings differ from those the run in {d} started with (settings.yaml): "
                                     f"{', '.join(f'{k} was {saved[k]!r}, now {settings[k]!r}' for k in changed) if saved else 'none saved'}. "
                                     "Resume with the same settings, or start again with --overwrite.")
        mode = _read_mode(d)
        if mode != _mode():
            was = 'unknown (no mode.yaml)' if mode is None else f"quick mode {'on' if mode['quick_mode'] else 'off'}"
            raise ResultsFolderError(f"the run in {d} started with {was}; now quick mode is {'on' if quick_mode() else 'off'} "
                                     "(DLF_QUICK), which changes the epochs and the data. Resume in the same mode, or start "
                                     "again with --overwrite.")
        return False
    unfinished = _unfinished_start(d)
    if present and not overwrite and not unfinished:
        raise ResultsFolderError(f"{d} already holds results ({', '.join(present)}). Use --overwrite to replace them, "
                                 "--resume to continue an interrupted run, or another --results_path.")
    if (overwrite or unfinished) and (d/'settings.yaml').exists() and not _written_by_command(d/'settings.yaml'):
        raise ResultsFolderError(f"{d/'settings.yaml'} is not a settings file the command wrote (it has comments or formatting of its own): "
                                 "it may be yours, and this run would replace it. Move it out of the results folder, then run "
                                 "again. Nothing was changed.")
    return unfinished


def _same_file(a: Path, b: Path) -> bool:
    try: return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError: return False


def _check_writable(d: Path) -> None:
    "Lecture 06's `probe_writable` on `d`; a ResultsFolderError naming `d` if it cannot be written."
    try: probe_writable(d)
    except OSError as e:
        raise ResultsFolderError(f"cannot write into the results folder {d} ({e.strerror or e}). Choose a --results_path you "
                                 "can write to, or change the folder's permissions. Nothing was changed.") from None


def start_results_dir(d: Path, settings: dict, overwrite: bool = False) -> None:
    "Make `d` ready for a fresh start: writable (checked before anything is deleted), the earlier results gone, settings saved."
    _check_writable(d)
    if overwrite:
        for f in RESULT_FILES: (d/f).unlink(missing_ok=True)
    try:
        save_yaml(settings, d/'settings.yaml')
        save_yaml(_mode(), d/'mode.yaml')
    except OSError as e:
        raise ResultsFolderError(f"cannot write into the results folder {d} ({e.strerror or e}).") from None


def check_data(settings: dict, source: str) -> None:
    "Load the data `settings` name and check it as training will use it, writing nothing: a DataError or SettingsError if unusable."
    name = settings['dataset']
    try:
        _, y, _, y_valid = get_data(name, log=lambda line: None)
        _, y_test = get_test_data(name, log=lambda line: None)
    except Exception as e:
        hint = (f" (For this command choose the data with the settings key 'dataset' in {source}, e.g. `dataset: embedded`; "
                "DLF_DATASET does not apply.)" if 'DLF_DATASET' in str(e) else '')
        raise DataError(f"the data of dataset {name!r} ({DATASETS[name]}; settings key 'dataset' in {source}) cannot be "
                        f"loaded: {type(e).__name__}: {e}{hint}") from None
    for part, labels in (('training', y), ('validation', y_valid), ('test', y_test)):
        if len(labels) == 0: raise DataError(f"dataset {name!r} ({DATASETS[name]}): the {part} split is empty.")
        bad = (labels < 0) | (labels >= N_CLASSES)
        if bad.any():
            i = int(bad.nonzero()[0, 0])
            raise DataError(f"dataset {name!r} ({DATASETS[name]}): the {part} part holds label {labels[i].item()} (example {i}), "
                            f"but the model has classes 0..{N_CLASSES - 1}. Its label file (under {nb_01.data_dir()}) is damaged: "
                            "restore or download it again, or use another dataset.")


def _mode() -> dict: return {'quick_mode': quick_mode()}


def _next_step(d: Path) -> str:
    "What to run after a run in `d` stopped: --resume if an epoch finished (a checkpoint exists), else the same command."
    if (d/'checkpoint.pt').exists():
        return "continue with --resume (the checkpoint holds the last finished epoch)"
    return "no epoch finished, so there is no checkpoint: run the same command again to start afresh (no --overwrite needed)"


DIST_TIMEOUT_S = 120  # seconds a process waits to join the group or in one collective before it gives up


def train_command(argv=None) -> int:
    "Run the command with arguments `argv` (default: the command line); returns the exit status (0 done, 1 training or its data failed, 2 bad settings or results folder, 130 interrupted)."
    a = parse_args(argv)
    if not _nb10().launched_by_torchrun(): return _run(a)
    try: _nb10().init_distributed(timeout_s=DIST_TIMEOUT_S)
    except Exception as e:
        print(f"error: rank {os.environ['RANK']} of {os.environ['WORLD_SIZE']}: cannot join the process group: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    try: return _run(a)
    finally: _nb10().cleanup_distributed()


def _checked_start(a) -> tuple:
    "Rank 0's checks and the folder's preparation: (exit status, settings, whether an unfinished start is replaced)."
    d = a.results_path
    try:
        settings = load_settings(a.settings_path, newest_schema()[0])
        _nb10().command_callbacks(settings, resolve_device(settings['device'], str(a.settings_path)))
        restart = check_results_dir(d, settings, a.resume, a.overwrite, a.settings_path)
        check_data(settings, str(a.settings_path))
        if a.resume: _check_writable(d)  # the log and the checkpoints go on in it
        else: start_results_dir(d, settings, a.overwrite)
        return 0, settings, restart
    except ResultsFolderError as e:
        print(f"error: {e}", file=sys.stderr); return 2, None, False
    except SettingsError as e:
        msg = str(e)
        print(f"error: {msg if msg.startswith(str(a.settings_path)) else f'{a.settings_path}: {msg}'}", file=sys.stderr); return 2, None, False
    except DataError as e:
        print(f"error: {e}", file=sys.stderr); return 1, None, False
    except KeyboardInterrupt:
        print("interrupted before training started; nothing was written.", file=sys.stderr); return 130, None, False


def _run(a) -> int:
    "The command in this process: rank 0 (the only one without torchrun) checks and prepares; every rank trains."
    nb10 = _nb10()
    d, main, n = a.results_path, nb10.is_main_process(), nb10.world_size()
    status, settings, restart = _checked_start(a) if main else (0, None, False)
    if n > 1:  # the others wait for rank 0's verdict, so nobody reads the folder while it is being prepared
        verdict = [status]; dist.broadcast_object_list(verdict, src=0); status = verdict[0]
    if status: return status
    if not main: settings = load_settings(a.settings_path, newest_schema()[0])  # rank 0 has checked the file
    who = f"rank {nb10.rank()} of {n}: " if n > 1 else ''
    import matplotlib.pyplot as plt
    plt.switch_backend('agg')  # the command only saves figures; never open a window
    log = setup_logging(d/'training.log', append=a.resume or restart) if main else _quiet_log()
    try:
        if restart: log.info(f"an earlier start in {d} finished no epoch; starting afresh")
        env = os.environ.get('DLF_DATASET')
        if env and env != settings['dataset']:
            log.info(f"note: DLF_DATASET={env} is not used: the command's data source is the settings key dataset ({settings['dataset']})")
        log.info(f"{'resuming' if a.resume else 'training'}: settings {a.settings_path}, results {d}")
        if n > 1: log.info(f"processes: {n} ({dist.get_backend()}); batch_size {settings['batch_size']} per process, "
                           f"{n * settings['batch_size']} per step in all")
        extra = nb10.command_callbacks(settings, resolve_device(settings['device']))
        train_from_settings(settings, d, resume=a.resume, log=log.info, make_model=nb10.make_model, extra_cbs=extra, write=main)
        return 0
    except KeyboardInterrupt:
        log.info(f"interrupted; {_next_step(d)}")
        return 130
    except CheckpointError as e:
        log.info(f"cannot resume: {e}")
        print(f"error: {who}cannot resume: {e} To train again from the start: --overwrite.", file=sys.stderr)
        return 1
    except Exception as e:
        log.info(f"training failed: {type(e).__name__}: {e}")
        if main:
            with open(d/'training.log', 'a', encoding='utf-8') as f: f.write(traceback.format_exc())
            where = f"the traceback is in {d/'training.log'}"
        else:
            traceback.print_exc()
            where = "the traceback is above"
        print(f"error: {who}training failed: {type(e).__name__}: {e}\n{_next_step(d)}; {where}.", file=sys.stderr)
        return 1
    finally:
        for h in log.handlers[:]: log.removeHandler(h); h.close()


def _quiet_log() -> logging.Logger:
    "A logger that drops every message: what the ranks other than 0 log to."
    log = logging.getLogger('dlf.train.quiet')
    log.handlers[:], log.propagate = [logging.NullHandler()], False
    return log


main = train_command  # the console script's entry point (pyproject: dlf-train)

if __name__ == '__main__': sys.exit(train_command())
