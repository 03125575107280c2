"""Lecture 10's exercises: the reference solution of the self-checking one (`shard`), the wrong answers its check must
refuse, and worked answers of the others (`ANSWERS`), with what they gave when run on the course's 2-core CPU machine
(torch 2.14.1, gloo, one thread per process, 2026-12-03, other programs busy on the cores: times vary, the rest does not)."""


def shard(n: int, world_size: int, rank: int) -> list:
    "DistributedSampler's rule without shuffling: pad 0..n-1 with its first items to a multiple of world_size, then every world_size-th from rank."
    total = -(-n // world_size) * world_size
    indices = list(range(n))
    while len(indices) < total: indices += indices[:total - len(indices)]
    return indices[rank:total:world_size]


def _ceil(n: int, w: int) -> int: return -(-n // w)


# Wrong answers the check must refuse (tests/test_exercises.py), each with the hint it must get (tests/test_exercises_10.py).
WRONG = {'shard': [lambda n, w, r: list(range(n))[r::w],                                                    # no padding
                   lambda n, w, r: list(range(r * _ceil(n, w), min(n, (r + 1) * _ceil(n, w)))),               # contiguous blocks
                   lambda n, w, r: [i % n for i in range(r, _ceil(n, w) * w + 1, w)],                         # one too many
                   lambda n, w, r: (list(range(n)) + list(range(n))[n - (_ceil(n, w) * w - n):])[r::w],       # pads with the last ones
                   lambda n, w, r: (list(range(n)) + list(range(n))[:_ceil(n, w) * w - n])[r::w]]}            # pads once only

ANSWERS = {
    2: """4 processes × batch 16 against 1 process × batch 64: in the equivalence script's launch, nproc=4 and b=16
(`run_torchrun([scaling/'equivalence.py', scaling/'four.pt', 16, epochs, lr], nproc=4)`), then cell 37's comparison
against `one` (batch 64). The tolerance holds: every step's learning rate is equal, the largest difference of a step's
loss was 3.6e-07 and of a final weight 6.0e-07 (2 processes: 3.6e-07 and 8.6e-07), and the validation accuracy is
equal in every epoch — the all-reduce adds 4 partial sums instead of 2, another order of the same additions. Time:
the 5 epochs of training took 4.6 s on 4 processes, 1.9 s on 2 and 0.8 s in the notebook's one process (each 1
thread). With 2 cores, 4 processes take turns on them: each step waits for the slowest of 4 ranks, and every
all-reduce involves 4 — more processes than cores only add communication and waiting.""",
    3: """2 processes × batch 64 are, by the lecture's equivalence, 1 process × batch 128, so one process suffices (or the
equivalence script with b=64). After 5 epochs of one-cycle training, validation accuracy (seeds 0, 1, 2):
1 process × 64 at lr 0.5: 91.4 / 91.6 / 91.8 %; effective batch 128 at lr 0.5: 90.2 / 90.6 / 91.0 %; effective batch
128 at lr 1.0: 91.7 / 91.7 / 92.6 % (validation loss 0.256 / 0.258 / 0.258, 0.302 / 0.294 / 0.301, 0.253 / 0.256 /
0.249). Twice the rate comes closer — here it matches or beats the batch-64 run: with twice the batch there are half
as many steps per epoch, each averaging over twice as many items, so each step must go twice as far (the linear
scaling rule of section 3). At the same rate the larger batch simply trains less per epoch.""",
    4: """With `model.hidden = torch.nn.Sequential(model.hidden, torch.nn.BatchNorm1d(100))` in both runs, the runs differ from
the very first step: its loss differs by 4.1e-03 (without batch norm: below 1e-6), the largest difference of a step's
loss over 5 epochs was 0.15, of a final weight 0.07, of the running mean 0.46 — far above the 1e-5 tolerance — while
the validation accuracy stays close (2 processes 83.4 / 87.8 / 88.3 / 90.3 / 90.5 %, 1 process 84.0 / 87.1 / 87.7 /
90.3 / 90.5 %). Why: in training each rank normalises with the mean and variance of its 32 items, not of the 64 of
the one-process batch, so the forward pass itself differs; and the running statistics are rank 0's (broadcast by DDP
before each forward), computed from rank 0's halves only. With `torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)`
DDP refuses the model on the CPU at construction: `ValueError: SyncBatchNorm layers only work with GPU modules`, on
every rank. On GPUs (NCCL) SyncBatchNorm all-reduces each layer's sums in every training forward pass, so each rank
normalises with the statistics of the whole 64-item batch and updates its running statistics from them: the run is
then the one-process run again, to float rounding, at the cost of one collective per batch-norm layer per forward.""",
    5: """In hello.py: `timeout=datetime.timedelta(seconds=5)` in init_process_group, and `if r == 1: time.sleep(30)` before
`dist.all_reduce(total)`. Rank 0 reaches the all-reduce and waits for rank 1; after 5 s it raises
`RuntimeError: [.../gloo/transport/tcp/unbound_buffer.cc:78] Timed out waiting 5000ms for recv operation to complete`
and exits with status 1. torchrun sees a process fail and stops the others: rank 1, still asleep, gets SIGTERM
(exit code -15), and the summary names rank 0 as the Root Cause (first observed failure). The whole launch took about
15 s (start-up included), not 30: the timeout ends the waiting rank, and torchrun ends the sleeping one. The rank that
reports the error is the one that waited, not the one that was slow.""",
}
