"Reference solutions of lecture 10's self-checking exercise."


def shard(n: int, world_size: int, rank: int) -> list:
    "DistributedSampler's rule without shuffling: pad 0..n-1 with its first items to a multiple of world_size, then every world_size-th from rank."
    total = -(-n // world_size) * world_size
    indices = list(range(n))
    while len(indices) < total: indices += indices[:total - len(indices)]
    return indices[rank:total:world_size]


# Wrong answers the check must refuse (tests/test_exercises.py).
WRONG = {'shard': [lambda n, w, r: list(range(n))[r::w],                                          # no padding
                   lambda n, w, r: list(range(r * (-(-n // w)), min(n, (r + 1) * (-(-n // w))))),   # contiguous blocks
                   lambda n, w, r: [i % n for i in range(r, -(-n // w) * w + 1, w)]]}               # one too many
