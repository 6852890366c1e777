"""The host loop's policy (engine.policy): pure functions, checked value by value."""
import jax.numpy as jnp
import pytest

from simulator.engine import policy


def test_default_batch_size_is_an_eighth_clipped_and_never_above_the_capacity_of_n_chains():
    assert policy.default_batch_size(100) == policy.capacity(100) == 104
    assert policy.default_batch_size(2**14 + 5) == 2**14
    assert policy.default_batch_size(8 * 2**16) == 2**16
    assert policy.default_batch_size(2**30) == 2**18


@pytest.mark.parametrize("n", [1, 16, 17, 100, 1000, 1001, 4000, 2**20 + 1, 10**7])
def test_capacity_is_at_most_an_eighth_above_n(n):
    assert n <= policy.capacity(n) <= 1.125 * n


def test_capacity_takes_eight_values_per_doubling():
    """So that races of nearby sizes share a compiled program."""
    assert sorted({policy.capacity(m) for m in range(1024 + 1, 2048 + 1)}) == list(range(1024 + 128, 2048 + 1, 128))


@pytest.mark.parametrize("length, stopped, expected", [
    (128, 0.5, 64), (4, 0.5, policy.MIN_BLOCK), (64, 0.01, 128), (128, 0.01, 128), (32, 0.1, 32)])
def test_block_length_halves_when_many_stop_and_doubles_when_few_do(length, stopped, expected):
    assert policy.next_block_length(length, stopped, block_size=128) == expected
    # the race program applies the same rule on the device
    assert int(policy.next_block_length(jnp.int32(length), jnp.float32(stopped), 128, jnp)) == expected


@pytest.mark.parametrize("block_size", [1, 2, 3])
def test_a_block_never_exceeds_block_size(block_size):
    """Regression: with block_size < MIN_BLOCK the halving used to go *up* to MIN_BLOCK = 4."""
    assert policy.next_block_length(block_size, 0.9, block_size) == block_size
    assert int(policy.next_block_length(jnp.int32(block_size), 0.9, block_size, jnp)) == block_size
    assert policy.next_block_length(block_size, 0.0, block_size) == block_size


@pytest.mark.parametrize("running, devices, expected", [
    (1, 1, policy.MIN_BATCH), (33, 1, 64), (64, 1, 64), (65, 1, 128), (100, 3, 129)])
def test_compacted_width_is_a_power_of_two_rounded_to_the_devices(running, devices, expected):
    assert policy.compacted_width(running, devices) == expected


def test_compaction_modes():
    args = dict(width=1024, n_running=100, target=128, compiled=False, block_seconds=0.1,
                compile_seconds=1.0, drain_blocks=5)
    assert not policy.should_compact(False, **args)
    assert policy.should_compact(True, **args)
    # auto: saves 0.1 * (1 - 1/8) = 0.0875 s per block; 5 blocks repay 0.44 s < 1 s of compile
    assert not policy.should_compact("auto", **args)
    assert policy.should_compact("auto", **{**args, "drain_blocks": 12})     # 1.05 s >= 1 s
    assert policy.should_compact("auto", **{**args, "compiled": True})       # nothing to compile
    assert not policy.should_compact("auto", **{**args, "block_seconds": None})  # no forecast yet
    assert not policy.should_compact(True, **{**args, "n_running": 513})     # more than half run
    assert not policy.should_compact(True, **{**args, "width": policy.MIN_BATCH, "target": policy.MIN_BATCH,
                                              "n_running": 1})


@pytest.mark.parametrize("batch, devices, ladder", [
    (2**14, 1, [2**14, 2**10, 2**6]), (1000, 1, [1000, 62, 32]), (64, 1, [64, 32]), (32, 1, [32]),
    (2**14, 3, [2**14, 1026, 66])])
def test_the_bucket_ladder_has_at_most_three_widths(batch, devices, ladder):
    assert policy.bucket_ladder(batch, devices) == ladder
    assert all(w % devices == 0 for w in ladder[1:])


def test_bucket_width_is_the_narrowest_rung_that_holds_the_running_chains():
    assert policy.bucket_width(1000, 2**14) == 2**10 and policy.bucket_width(1025, 2**14) == 2**14
    assert policy.bucket_width(1, 2**14) == 2**6 and policy.bucket_width(64, 2**14) == 2**6
    # a target as wide as the batch is never a compaction
    assert not policy.should_compact(True, 2**14, 3000, policy.bucket_width(3000, 2**14), False, 1.0, 0.1, 5)


def test_chunks_are_a_32nd_of_the_width_and_at_least_8_lanes():
    """A race program of 1,024 lanes or more steps its busy lanes max(width / 32, 8) at a time:
    the ladder's 1,024-lane rung in chunks of 32 (it stepped all 1,024 lanes before: efficiency 0.48 -> 0.80
    on benchmarks/compaction.py)."""
    assert [policy.chunk_width(w) for w in (2**18, 16_384, 1_024, 512, 64)] == [8_192, 512, 32, 512, 64]
    assert [policy.chunk_width(w, min_width=0) for w in (64, 16, 8, 30)] == [8, 8, 8, 30]
    assert policy.chunk_width(1_024, chunked=False) == 1_024
    assert policy.stepped_lanes(1_024, 40) == 64
