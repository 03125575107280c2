"""The course's training command, a thin face over lecture 07's pieces: parse the arguments, check the settings and
the results folder, load the data once, build the Learner, fit, write.

    python -m helpers.train --settings_path settings/mnist_mlp.yaml --results_path results/mnist_mlp
    dlf-train ...                                        # the same, as a console script
    python -m helpers.train --nproc_per_node 2 ...       # 2 processes on this machine (lecture 10); rank 0 alone writes
    torchrun --nproc_per_node 2 -m helpers.train ...     # the same processes, started by torchrun itself

From Python: `from helpers.train_command import train_command; train_command([...arguments...])`. The newest lecture's
module is loaded when the command runs: every lecture adds its settings keys, models, optimizers and callbacks to
lecture 07's `TRAIN_SETTINGS`, `MODELS`, `OPTIMIZERS` and `SETTINGS_CALLBACKS`.
"""
from __future__ import annotations
import argparse, errno, json, logging, os, signal, sys, threading, time, traceback
from pathlib import Path

import torch
import torch.distributed as dist

from exp import nb_00
from exp.nb_00 import env_flag
from exp.nb_05 import CheckpointError
from exp.nb_07 import (PLOT_FILES, ResultsLock, SettingsError, check_results_folder, load_data, load_settings, resolve_device,
                       run_record, settings_callbacks, settings_help, setup_logging, start_results_folder, train_from_settings)

_FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left, disk quota exceeded
DIST_TIMEOUT_S = 120  # seconds a process waits to join the group or in one collective, then gives up
EXIT_STATUS = {0: 'done', 1: 'training failed (the message says why; --resume continues from the last finished epoch)',
               2: 'the run cannot start: settings, results folder or data (the message says what to do)',
               130: 'interrupted (Ctrl-C)', 143: 'terminated (SIGTERM: kill, a job scheduler, docker stop)'}


class Terminated(KeyboardInterrupt):
    "SIGTERM arrived (`kill`, a job scheduler, `docker stop`): the command stops as it does on Ctrl-C."


def _terminate(signum, frame): raise Terminated()


def _stopped(e: KeyboardInterrupt) -> tuple:
    "The exit status and the words for a run stopped by Ctrl-C or SIGTERM."
    return (143, 'terminated (SIGTERM)') if isinstance(e, Terminated) else (130, 'interrupted')


def newest():
    "The newest lecture's module (with every lecture's settings keys), loaded when the command runs, not when it is imported."
    from exp import nb_10
    return nb_10


def _path(text: str) -> Path:
    "A path argument, `~` expanded (a shell does it for unquoted paths; Python and quotes do not)."
    return Path(text).expanduser()


def parse_args(argv=None) -> argparse.Namespace:
    "The command's arguments; --help lists the options, the files written, the exit statuses and every settings key."
    newest()
    epilog = f"""\
what it writes into DIR:
  run.yaml           the settings as used (defaults filled in), quick mode, number of processes
  training.log       everything printed, time-stamped (appended to by --resume)
  checkpoint.pt      model, optimizer, history and random states after the latest epoch
  results.yaml       per-epoch history, every minibatch loss and learning rate, the test accuracy,
                     the settings, data sizes, device, processes, library versions, timings
  {PLOT_FILES[0]:<18} minibatch loss and its running average
  {PLOT_FILES[1]:<18} train and validation accuracy per epoch

data: the settings key `dataset` (not the DLF_DATASET variable the lectures read); validation
watches training and compares settings; the test split is evaluated once, after training.
Settings, results folder and data are checked before anything is written; a start that ends
before its first epoch leaves no checkpoint: run the same command again.

several processes (lecture 10): --nproc_per_node N starts N processes on this machine with torchrun's
launcher (a free port; a failure prints the course's message only), or run `torchrun --nproc_per_node N
-m helpers.train ...` (several machines: torchrun's rendezvous options). batch_size is per process
(N x batch_size per step), and the run equals one process with N times the batch.

exit status:
{chr(10).join(f'  {k:<4} {v}' for k, v in EXIT_STATUS.items())}

settings keys (YAML `key: value` lines; example files in the settings/ folder):
{settings_help()}
"""
    prog = 'dlf-train' if Path(sys.argv[0]).name == 'dlf-train' else 'python -m helpers.train'
    p = argparse.ArgumentParser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog,
                                description="Train the course's MLP or CNN as a YAML settings file says; write the log,\n"
                                            "results, plots and checkpoints into a results folder.")
    p.add_argument('--settings_path', required=True, type=_path, metavar='SETTINGS.yaml', help="YAML settings file (keys below)")
    p.add_argument('--results_path', required=True, type=_path, metavar='DIR',
                   help="results folder; created if missing; must not already hold results (see --overwrite)")
    g = p.add_mutually_exclusive_group()
    g.add_argument('--resume', action='store_true', help="continue an interrupted run in DIR from its checkpoint")
    g.add_argument('--overwrite', action='store_true', help="replace the results in DIR (once every check has passed)")
    p.add_argument('--nproc_per_node', type=_count, default=1, metavar='N',
                   help="processes on this machine (lecture 10), started with torchrun's launcher; default 1: this process")
    return p.parse_args(argv)


def _count(text: str) -> int:
    "A number of processes: a whole number of at least 1."
    if not text.isdigit() or int(text) < 1: raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (1, 2, …)")
    return int(text)


def train_command(argv=None) -> int:
    "Run the command with arguments `argv` (default: the command line); returns its exit status (`EXIT_STATUS`)."
    a = parse_args(argv)
    if threading.current_thread() is not threading.main_thread(): return _launch(a)
    before = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM stops the run as Ctrl-C does, with its message
    try: return _launch(a)
    finally: signal.signal(signal.SIGTERM, before)


def _launch(a) -> int:
    "The command alone, or as one of torchrun's processes."
    nb10 = newest()
    if a.nproc_per_node > 1 and not nb10.launched_by_torchrun(): return _start_processes(a)
    if not nb10.launched_by_torchrun(): return _run(a)
    settings = _read_settings(a.settings_path)  # read once: it names the backend, then _run uses or reports it
    try: nb10.init_distributed(_backend(settings), timeout_s=DIST_TIMEOUT_S)  # a hang ends the job, not stalls it
    except Exception as e:
        print(f"error: rank {os.environ['RANK']} of {os.environ['WORLD_SIZE']}: cannot join the process group: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    try: return _run(a, settings)
    finally: nb10.cleanup_distributed()


def _read_settings(path: Path):
    "The settings at `path` (`load_settings`), or the exception that refused them: each rank reports it in `_run`."
    try: return load_settings(path)
    except Exception as e: return e


def _backend(settings) -> str | None:
    """The process group's backend: gloo when the settings say `device: cpu` (no GPU is touched), else None
    (init_distributed's choice), also for settings that were refused: every rank reports them next."""
    return 'gloo' if isinstance(settings, dict) and str(settings['device']) == 'cpu' else None


def _run(a, settings=None) -> int:
    """The command in this process: every rank checks settings (`settings`, when `_launch` read them already) and data;
    rank 0 the folder; all agree, then train."""
    d, main, n = a.results_path, newest().is_main_process(), newest().world_size()
    who, lines, restart, status, msg = (f"rank {newest().rank()} of {n}: " if n > 1 else ''), [], False, 0, None
    lock = ResultsLock(d) if main else None  # rank 0 holds it, from the first check of the folder to the last write
    try:
        _check_environment()
        if isinstance(settings, Exception): raise settings
        s = settings or load_settings(a.settings_path)
        settings_callbacks(s, resolve_device(s['device'], str(a.settings_path)))  # the keys that depend on the device
        if main:
            lock.acquire(lines.append)  # no other command can change d from here on
            restart = check_results_folder(d, run_record(s), a.resume, a.overwrite, a.settings_path)
        data = load_data(s, log=lines.append)
        if main: start_results_folder(d, run_record(s), a.overwrite, a.resume)
    except SettingsError as e: status, msg = 2, f"error: {who}{e}"
    except KeyboardInterrupt as e:
        status, why = _stopped(e)
        msg = f"{why} before training started; nothing was written."
    except Exception as e:  # unforeseen: still one line, the lock released, a folder this run made removed
        status, msg = 1, f"error: {who}the run could not start: {type(e).__name__}: {e}"
    if n > 1:  # every process stops when one cannot start; the first of those says why
        statuses = [torch.zeros(1, dtype=torch.int64) for _ in range(n)]
        dist.all_gather(statuses, torch.tensor([status]))
        failing = [r for r, t in enumerate(statuses) if t.item()]
        status = max(t.item() for t in statuses)
        if failing and failing[0] != newest().rank(): msg = None
    if msg: print(msg, file=sys.stderr); _tell_torchrun(msg)
    if status:
        if lock: lock.release(started=False)
        return status
    log = setup_logging(d/'training.log', append=a.resume or restart) if main else _quiet_log()
    try:
        if restart: log.info(f"an earlier start in {d} finished no epoch; starting afresh")
        if os.environ.get('DLF_DATASET', s['dataset']) != s['dataset']:
            log.info(f"note: DLF_DATASET={os.environ['DLF_DATASET']} is not used: the command's data source is the settings key dataset ({s['dataset']})")
        log.info(f"{'resuming' if a.resume else 'training'}: settings {a.settings_path}, results {d}")
        if n > 1: log.info(f"processes: {n} ({dist.get_backend()}); batch_size {s['batch_size']} per process, "
                           f"{n * s['batch_size']} per step in all")
        for line in lines: log.info(line)
        train_from_settings(s, data, d, resume=a.resume, log=log.info, write=main)
        return 0
    except KeyboardInterrupt as e:
        status, why = _stopped(e)
        log.info(f"{why}; {_next_step(d)}")
        return status
    except CheckpointError as e:
        log.info(f"cannot resume: {e}")
        print(f"error: {who}cannot resume: {e} To train again from the start: --overwrite.", file=sys.stderr)
        return 1
    except Exception as e:
        if isinstance(e, OSError) and e.errno in _FULL:  # the results folder's disk is full (or its quota spent)
            log.info(f"cannot write into {d}: {e}")
            print(f"error: {who}cannot write into {d} ({e.strerror}): make room there, then {_next_step(d)}.", file=sys.stderr)
            _tell_torchrun(f"error: {who}cannot write into {d} ({e.strerror})")
            return 1
        log.info(f"training failed: {type(e).__name__}: {e}")
        written = main and _append(d/'training.log', traceback.format_exc())  # only rank 0 writes the log file
        if not written: traceback.print_exc()
        where = f"the traceback is in {d/'training.log'}" if written else "the traceback is above"
        print(f"error: {who}training failed: {type(e).__name__}: {e}\n{_next_step(d)}; {where}.", file=sys.stderr)
        _tell_torchrun(f"error: {who}training failed: {type(e).__name__}: {e}", after_peer=n > 1 and _peer_ended(e))
        return 1
    finally:
        for h in log.handlers[:]: log.removeHandler(h); h.close()
        if lock: lock.release()


def _append(path: Path, text: str) -> bool:
    "Append `text` to the file `path`; False if it cannot be written (a full disk)."
    try:
        with open(path, 'a', encoding='utf-8') as f: f.write(text)
        return True
    except OSError: return False


def _start_processes(a) -> int:
    """Start `a.nproc_per_node` processes of this command on this machine with torchrun's launcher, in this process
    (`--standalone`: its rendezvous takes a free port itself), and wait for them. Each process prints its own messages;
    a failed job adds no traceback of torchrun's, only an exit status: that of the lowest rank that ended by itself."""
    from torch.distributed.run import get_args_parser, run
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.multiprocessing.api import SignalException
    args = ['--settings_path', str(a.settings_path), '--results_path', str(a.results_path)]
    args += ['--resume'] * a.resume + ['--overwrite'] * a.overwrite
    job = get_args_parser().parse_args(['--standalone', '--nproc_per_node', str(a.nproc_per_node), '-m', 'helpers.train', *args])
    os.environ.setdefault('OMP_NUM_THREADS', '1')  # one CPU thread per process, as torchrun sets it (without its banner)
    launcher = logging.getLogger('torch.distributed.elastic')
    level, launcher.level = launcher.level, logging.CRITICAL  # its failure report repeats what the processes said
    try: run(job); return 0
    except ChildFailedError as e: return _job_status(e.failures, a.nproc_per_node)
    except SignalException as e: return 143 if e.sigval == signal.SIGTERM else 130  # the processes said what to do next
    except Exception as e:  # the launcher itself: no process could be started
        print(f"error: cannot start {a.nproc_per_node} processes: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally: launcher.level = level


def _job_status(failures: dict, n: int) -> int:
    """The exit status of a failed job from torchrun's `failures` ({rank: ProcessFailure}): that of the lowest rank that
    ended by itself (the launcher stops the others, with SIGTERM); if none did, a line naming the signal, and 1."""
    ended = sorted(failures.items())
    status = next((f.exitcode for r, f in ended if 0 < f.exitcode < 128), None)
    if status is not None: return status
    rank, failure = ended[0]
    if failure.exitcode < 0: print(f"error: rank {rank} of {n} was stopped by {failure.signal_name()}.", file=sys.stderr)
    return failure.exitcode if failure.exitcode > 0 else 1


def _peer_ended(e: Exception) -> bool:
    "Whether `e` is a collective that failed because another process ended (gloo's words for it)."
    return any(words in str(e) for words in ('Connection closed by peer', 'Connection reset by peer'))


def _tell_torchrun(msg: str, after_peer: bool = False) -> None:
    """Under torchrun, write `msg` into the error file torchrun reads when a process fails (TORCHELASTIC_ERROR_FILE), so
    that its summary's Root Cause shows the course's message instead of only an exit code. torchrun takes the failure
    with the earliest time in whole seconds as the root cause; a process that failed only because another ended
    (`after_peer`) dates its report one second later, so that the process that failed first is named."""
    path = os.environ.get('TORCHELASTIC_ERROR_FILE')
    if not path: return
    when = str(int(time.time()) + after_peer)
    record = {'message': {'message': msg, 'extraInfo': {'py_callstack': msg, 'timestamp': when}}}  # torchrun's format
    try: Path(path).write_text(json.dumps(record))
    except OSError: pass  # the summary then shows the exit code, as before


def _check_environment() -> None:
    """The course's switches the command reads from the environment and the course's settings.ini, checked first: a
    SettingsError for a value it cannot read."""
    for name in ('DLF_QUICK', 'DLF_OFFLINE'):
        try: env_flag(name)
        except ValueError as e: raise SettingsError(f"environment variable {e} Or unset it.") from None
    try: nb_00.course_settings()
    except (KeyError, ValueError, OSError) as e:
        raise SettingsError(f"{e.args[0] if isinstance(e, KeyError) else e} Restore it (git checkout settings.ini).") from None


def _next_step(d: Path) -> str:
    "What to run after a run in `d` stopped: --resume if an epoch finished (a checkpoint exists), else the same command."
    if (d/'checkpoint.pt').exists(): return "continue with --resume (the checkpoint holds the last finished epoch)"
    return "no epoch finished, so there is no checkpoint: run the same command again to start afresh (no --overwrite needed)"


def _quiet_log() -> logging.Logger:
    "A logger that drops every message: what the ranks other than 0 log to."
    log = logging.getLogger('dlf.train.quiet')
    log.handlers[:], log.propagate = [logging.NullHandler()], False
    return log


main = train_command  # the console script's entry point (pyproject: dlf-train)

if __name__ == '__main__': sys.exit(train_command())
