"""Each data-parallel worker's part of the data: written once for the five engines."""
from .data import Batches


def share(array, rank, world):
    """Worker `rank`'s contiguous share of a batch whose length `world` divides."""
    if len(array) % world:
        raise ValueError(f"a batch of {len(array)} examples does not split into {world} equal shares: "
                         f"choose a batch size that {world} divides")
    size = len(array) // world
    return array[rank * size:(rank + 1) * size]


def shard(batches, rank, world):
    """Worker `rank`'s training shard: every world-th example, an equal number per worker (the rest left out,
    as DistributedSampler with drop_last does), in batches of batch_size / world, reshuffled at every pass."""
    if batches.batch_size % world:
        raise ValueError(f"batch size {batches.batch_size} does not split into {world} equal shares: "
                         f"choose a batch size that {world} divides")
    count = len(batches.labels) // world * world
    return Batches(batches.images[rank:count:world], batches.labels[rank:count:world], batches.batch_size // world,
                   batches.shuffle, batches.framework, batches.convert)



def whole(batches, world):
    """One process's training set whose every batch, the last too, splits into `world` equal shares (the few
    examples over a multiple of `world` left out, as shard does)."""
    if batches.batch_size % world:
        raise ValueError(f"batch size {batches.batch_size} does not split into {world} equal shares: "
                         f"choose a batch size that {world} divides")
    count = len(batches.labels) // world * world
    return Batches(batches.images[:count], batches.labels[:count], batches.batch_size, batches.shuffle,
                   batches.framework, batches.convert)
