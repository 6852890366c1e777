"""How the host loop spends its lanes: batch size, block length, compaction. Pure functions.

* ``default_batch_size``: about n_chains / 8 lanes, clipped to [2^14, 2^18].
* ``capacity``: sizes rounded up to j * 2^k (8 <= j < 16), at most 12.5 % more,
  so that the per-chain buffers and default lane counts of nearby chain counts
  share one compiled program.
* ``next_block_length``: halve (down to ``MIN_BLOCK``, or ``block_size`` if
  smaller) while more than 20 % of the running chains stop within a block,
  double (up to ``block_size``) while fewer than 5 % do; this bounds the steps
  wasted after a chain stops.
* ``compacted_width``: the next power of two above the running chains (at
  least ``MIN_BATCH``), rounded up to a multiple of the device count.
* ``bucket_width``: a race's lane counts come from the ladder batch, batch/16,
  batch/256 (``bucket_ladder``), so a race compiles at most ``MAX_PROGRAMS`` = 3
  block programs; the cost is up to 16x idle lanes in the drain instead of 2x.
  Measured (heavy-tailed walk, compaction "auto", 2 cores): 100,000 chains 6.4 s
  with 3 compiles against 6.1-7.5 s with 7 at powers of two; 10,000 chains
  3.0 s against 3.3 s; factors 4, 8 and 32 were slower on one or the other.
* ``chunk_width``: inside one program, the busy lanes are kept first and
  stepped max(width / 32, 8) at a time (programs of 1,024 lanes and more), so
  the work follows the running chains between the ladder's rungs.
* ``should_compact``: shrink once at most half the lanes run, and (mode
  "auto") only when the time the smaller batch saves should repay compiling it.

None of them changes results: a chain's path depends only on (seed, chain index).
"""
from __future__ import annotations

DEFAULT_BLOCK_SIZE = 128
MIN_BLOCK = 4
# Lane counts. On a 2-core CPU one block runs fastest at 2^18 lanes (measured
# 2^10..2^20: 1.3e7, 2.6e7 at 2^14, 3.3e7 lane-steps/s at 2^18), but chains that
# start while lanes are being refilled waste nothing, so the default keeps about
# 8 chains per lane for the refilling phase and the drain is short.
MIN_DEFAULT_BATCH = 2**14
MAX_DEFAULT_BATCH = 2**18
MIN_BATCH = 32
MIN_CHUNK = 8          # lanes of the smallest chunk a race program steps together (``chunk_width``); at 128 the
                       # ladder's 1,024-lane rung stepped all its lanes (benchmarks/compaction.py, "auto":
                       # efficiency 0.48, 7.2 s; with 8 and CHUNKS = 32: 0.795, 4.9 s)
MIN_CHUNKED = 1024     # narrower race programs step all their lanes: the chunk code costs each program
                       # compile time (a checkpoint test of many small races: 31 s without it, 45 s with)
CHUNKS = 32            # a race program of W lanes steps its busy lanes W / CHUNKS at a time (16: 0.71, 4.6 s)
LADDER_FACTOR = 16
MAX_PROGRAMS = 3


def default_batch_size(n_chains: int) -> int:
    """About n_chains / 8 lanes, clipped to [2^14, 2^18] and to ``capacity(n_chains)``, rounded up by
    ``capacity`` so that races of nearby sizes share one compiled program."""
    return capacity(min(n_chains, max(MIN_DEFAULT_BATCH, min(MAX_DEFAULT_BATCH, n_chains // 8))))


def capacity(n: int) -> int:
    """The smallest j * 2^k >= n with 8 <= j < 16 (n itself up to 16): at most 12.5 % above n, and
    only 8 sizes per doubling, so programs compiled for one count serve its neighbours."""
    if n <= 16:
        return n
    step = 1 << (n.bit_length() - 4)
    return -(-n // step) * step


def next_block_length(length, stopped_fraction, block_size: int, xp=None):
    """Halve while > 20 % of the block's chains stopped in it, double while < 5 % did.

    Never above ``block_size``, never below ``min(MIN_BLOCK, block_size)``. With ``xp=jax.numpy``
    the same rule on traced values (the race program adapts its blocks on the device).
    """
    if xp is not None:
        shorter, longer = max(min(MIN_BLOCK, block_size), 1), block_size
        return xp.where(stopped_fraction > 0.2, xp.maximum(shorter, length // 2),
                        xp.where(stopped_fraction < 0.05, xp.minimum(longer, length * 2), length))
    if stopped_fraction > 0.2:
        return max(min(MIN_BLOCK, block_size), length // 2)
    if stopped_fraction < 0.05:
        return min(block_size, length * 2)
    return length


def power_of_two(n: int) -> int:
    """The smallest power of two >= n (1 for n <= 1)."""
    return 1 << max(0, (n - 1).bit_length())


def compacted_width(n_running: int, n_devices: int = 1) -> int:
    """Lanes for ``n_running`` chains: a power of two >= MIN_BATCH, a multiple of ``n_devices``."""
    lanes = max(MIN_BATCH, power_of_two(n_running))
    return -(-lanes // n_devices) * n_devices


def chunk_width(width: int, chunked: bool = True, chunks: int = CHUNKS, min_width: int = MIN_CHUNKED) -> int:
    """Lanes stepped together inside a program of ``width`` lanes: max(width / chunks, MIN_CHUNK) when
    chunks are on, the width is at least ``min_width`` and that divides it into two chunks or more; else
    the width.

    The busy lanes are kept first, so a block steps ceil(busy / chunk) chunks: the lane-steps follow the
    running chains in steps of width / CHUNKS, with no new program (``benchmarks/compaction.py``: efficiency
    0.18 -> 0.72 on its 20,000-chain race, wall 4.6 s -> 1.0 s).
    """
    chunk = max(width // chunks, MIN_CHUNK)
    return chunk if chunked and width >= min_width and width % chunk == 0 and width >= 2 * chunk else width


def bucket_ladder(batch: int, n_devices: int = 1) -> list[int]:
    """The lane counts a race may use: batch, then batch / 16^j (each >= MIN_BATCH and a multiple of the
    devices), at most ``MAX_PROGRAMS`` of them, widest first."""
    ladder = [batch]
    for _ in range(MAX_PROGRAMS - 1):
        width = -(-max(MIN_BATCH, ladder[-1] // LADDER_FACTOR) // n_devices) * n_devices
        if width >= ladder[-1]:
            break
        ladder.append(width)
    return ladder


def compact_threshold(width: int, batch: int, n_devices: int = 1) -> int:
    """A race program of ``width`` lanes returns (to be compacted) once every chain started and at most this
    many run: the ladder's next width below ``width``, or half the width if less; -1 at the narrowest."""
    narrower = [w for w in bucket_ladder(batch, n_devices) if w < width]
    return min(narrower[0], width // 2) if narrower else -1


def bucket_width(n_running: int, batch: int, n_devices: int = 1) -> int:
    """The narrowest width of ``bucket_ladder(batch, n_devices)`` that holds ``n_running`` chains."""
    fits = [w for w in bucket_ladder(batch, n_devices) if w >= n_running]
    return fits[-1] if fits else batch


def stepped_lanes(width: int, n_running: int, chunked: bool = True) -> int:
    """Lanes a program of ``width`` lanes steps per block with ``n_running`` chains: whole chunks."""
    chunk = chunk_width(width, chunked)
    return chunk * max(1, -(-n_running // chunk))


def should_compact(mode, width: int, n_running: int, target: int, compiled: bool,
                   block_seconds: float | None, compile_seconds: float, drain_blocks: int,
                   chunked: bool = False) -> bool:
    """Shrink ``width`` lanes to ``target`` when at most half run, per ``mode`` (True, False, "auto").

    "auto": saved per block is about block_seconds * (1 - stepped(target) / stepped(width)) (``stepped_lanes``:
    without chunks, the widths themselves); the
    blocks still to come are forecast as the blocks run since the last chain
    started (a heavy tail lasts at least as long again). A width already
    compiled costs nothing; without a compile-free block time there is no forecast.
    """
    if not mode or n_running > width // 2 or width <= MIN_BATCH or target >= width:
        return False
    if mode is True or compiled:
        return True
    if block_seconds is None:
        return False
    saved = 1 - stepped_lanes(target, n_running, chunked) / stepped_lanes(width, n_running, chunked)
    return block_seconds * saved * drain_blocks >= compile_seconds
