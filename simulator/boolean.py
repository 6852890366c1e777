"""Boolean functions of networks: truth tables, their codes, Lempel-Ziv complexity, prior sampling.

A function f: {0,1}^n -> {0,1} is its truth table over ``inputs(n)`` (row i is i in binary, most significant
bit first, as in Valle-Pérez, Camargo & Louis 2019), a string of 2^n bits. ``encode`` packs it into
ceil(2^n / 64) unsigned 64-bit words (bit j of word w is entry 64 w + j), so 128-bit functions are a pair
of integers that numpy can count (``count``); ``decode`` inverts it.

``lz_complexity``: the Lempel-Ziv complexity of Valle-Pérez et al. (2019, appendix; Dingle et al. 2018):
K_LZ(x) = log2(n) (c(x) + c(reverse x)) / 2, or log2(n) when x is constant, c the number of words of the
Lempel-Ziv (1976) exhaustive parsing (the Kaspar & Schuster 1987 algorithm).

``perceptron_counts``: t(w) = #{x : w . x > 0} for a perceptron without bias; for Gaussian w on {0,1}^n,
P(t) = 2^-n for every t in [0, 2^n) (Mingard et al. 2019).

``mlp_functions``: the functions of a ReLU network with Gaussian weights N(0, sigma_w^2 / fan_in) and biases
N(0, sigma_b^2) (Valle-Pérez et al.: 7-40-40-1, sigma_w = sigma_b = 1), output bit = [logit > 0], sampled
on the device in batches, returned as codes.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jax.flatten_util import ravel_pytree

from .stats import Estimate, proportion
from .validate import non_negative, positive, positive_int


def inputs(n: int) -> np.ndarray:
    """(2^n, n) array of 0/1: row i is i in binary, most significant bit first."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 20:
        raise ValueError(f"n must be an int in [1, 20], got {n!r}")
    i = np.arange(2 ** n)
    return ((i[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.float32)


def _words(n_bits: int) -> int:
    return -(-n_bits // 64)


def _binary(bits, name: str = "bits") -> np.ndarray:
    """``bits`` as a bool array; anything but 0/1 (or bool) is refused (2 was read as 1, 0.5 as 1)."""
    b = np.asarray(bits)
    if b.dtype != bool and not np.all((b == 0) | (b == 1)):
        raise ValueError(f"{name} must hold only 0 and 1, got values such as {b[(b != 0) & (b != 1)].ravel()[:3]}")
    return b.astype(bool)


def encode(bits) -> np.ndarray:
    """Truth tables (..., n_bits) of 0/1 to codes (..., ceil(n_bits / 64)) uint64; bit j of word w = entry 64 w + j."""
    b = _binary(bits)
    n_bits = b.shape[-1]
    pad = _words(n_bits) * 64 - n_bits
    if pad:
        b = np.concatenate([b, np.zeros(b.shape[:-1] + (pad,), bool)], axis=-1)
    b = b.reshape(b.shape[:-1] + (-1, 64)).astype(np.uint64)
    return np.sum(b << np.arange(64, dtype=np.uint64), axis=-1, dtype=np.uint64)


def decode(codes, n_bits: int) -> np.ndarray:
    """Codes (..., words) back to truth tables (..., n_bits) of uint8."""
    raw = np.asarray(codes)
    if raw.dtype.kind not in "ui" or (raw.dtype.kind == "i" and np.any(raw < 0)):
        raise ValueError(f"codes must be non-negative integers (uint64 words from encode), got {raw.dtype}")
    c = raw.astype(np.uint64)
    if c.shape[-1] != _words(n_bits):
        raise ValueError(f"codes of {n_bits} bits have {_words(n_bits)} words, got shape {c.shape}")
    bits = (c[..., None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    return bits.reshape(c.shape[:-1] + (-1,))[..., :n_bits].astype(np.uint8)


def lz76_words(bits) -> int:
    """Number of words c(x) of the Lempel-Ziv (1976) exhaustive parsing of a 0/1 sequence (Kaspar & Schuster)."""
    s = [int(v) for v in np.asarray(bits).ravel()]
    n = len(s)
    if n < 2:
        return n
    i, k, l, c, k_max = 0, 1, 1, 1, 1      # noqa: E741 (Kaspar & Schuster's names)
    while True:
        if s[i + k - 1] == s[l + k - 1]:
            k += 1
            if l + k > n:
                return c + 1
        else:
            k_max = max(k, k_max)
            i += 1
            if i == l:
                c += 1
                l += k_max     # noqa: E741
                if l + 1 > n:
                    return c
                i, k, k_max = 0, 1, 1
            else:
                k = 1


def lz_complexity(bits) -> float:
    """K_LZ = log2(n) (c(x) + c(reversed x)) / 2, or log2(n) for a constant x (Valle-Pérez et al. 2019)."""
    x = _binary(bits).ravel().astype(np.uint8)
    n = x.size
    if n < 2:
        raise ValueError(f"bits must hold at least 2 entries, got {n}")
    if x.min() == x.max():
        return math.log2(n)
    return math.log2(n) * (lz76_words(x) + lz76_words(x[::-1])) / 2


def perceptron_counts(key, n: int, n_samples: int, batch: int = 2 ** 16) -> np.ndarray:
    """t(w) = #{x in {0,1}^n : w . x > 0} for n_samples Gaussian w (no bias)."""
    n_samples = positive_int("n_samples", n_samples)
    X = jnp.asarray(inputs(n))

    @jax.jit
    def one(k):
        w = jax.random.normal(k, (batch, n))
        return jnp.sum(w @ X.T > 0, axis=1)
    with jax.default_matmul_precision("highest"):    # float32, not a GPU's TF32: w . x near 0 must keep its sign
        out = [np.asarray(one(k)) for k in jax.random.split(key, -(-n_samples // batch))]
    return np.concatenate(out)[:n_samples]


def _check_widths(widths) -> tuple[int, ...]:
    w = tuple(widths)
    if len(w) < 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in w) \
            or w[-1] != 1:
        raise ValueError(f"widths must be layer sizes (n_in, ..., 1) of ints >= 1 ending in 1, got {widths!r}")
    return w


def mlp_init(key, widths, sigma_w: float = 1.0, sigma_b: float = 1.0):
    """One draw of the prior: [(W, b), ...] with W ~ N(0, sigma_w^2 / fan_in), b ~ N(0, sigma_b^2)."""
    widths = _check_widths(widths)
    layers = []
    for k, (a, b) in zip(jax.random.split(key, len(widths) - 1), zip(widths[:-1], widths[1:])):
        kw, kb = jax.random.split(k)
        layers.append((sigma_w / math.sqrt(a) * jax.random.normal(kw, (a, b)), sigma_b * jax.random.normal(kb, (b,))))
    return layers


def mlp_logits(layers, X):
    """ReLU network: logits (m,) on inputs X (m, n_in)."""
    h = X
    for W, b in layers[:-1]:
        h = jax.nn.relu(h @ W + b)
    W, b = layers[-1]
    return (h @ W + b)[..., 0]


def mlp_flat(widths, sigma_w: float = 1.0, sigma_b: float = 1.0):
    """The network as flat parameter vectors, for races: (sample(key, n) -> (n, D) prior draws, unravel)."""
    widths = _check_widths(widths)
    _, unravel = ravel_pytree(mlp_init(jax.random.key(0), widths, sigma_w, sigma_b))

    def sample(key, n):
        return jax.vmap(lambda k: ravel_pytree(mlp_init(k, widths, sigma_w, sigma_b))[0])(jax.random.split(key, n))
    return sample, unravel


def mlp_whitened(widths, sigma_w: float = 1.0, sigma_b: float = 1.0):
    """The prior in whitened coordinates: (scale (D,), unravel) with theta = unravel(scale * z), z ~ N(0, I_D),
    distributed as ``mlp_init`` (scale sigma_w / sqrt(fan_in) on weights, sigma_b on biases)."""
    widths = _check_widths(widths)
    sigma_w, sigma_b = positive("sigma_w", sigma_w), non_negative("sigma_b", sigma_b)
    scale, unravel = ravel_pytree([(jnp.full((a, b), sigma_w / math.sqrt(a)), jnp.full((b,), float(sigma_b)))
                                   for a, b in zip(widths[:-1], widths[1:])])
    return scale, unravel


def _check_labels(logits, bits):
    """``bits`` as an array of the logits' shape: broadcasting (16, 1) labels against (16,) logits counted
    128 misfits where there were 0, so any other shape is refused."""
    bits = jnp.asarray(bits)
    if bits.shape != jnp.shape(logits):
        raise ValueError(f"bits must have the logits' shape {jnp.shape(logits)}, got {bits.shape}")
    return bits


def misfit_count(logits, bits):
    """#{i : [logit_i > 0] != bit_i}, as a float residual: 0 exactly on the functions that fit."""
    return jnp.sum((logits > 0) != (_check_labels(logits, bits) > 0)).astype(jnp.float32)


def misfit_score(logits, bits):
    """m + h / (2 (1 + h)): m = ``misfit_count``, h = sum_i relu(-(2 bit_i - 1) logit_i) the total violation.

    The fraction lies in [0, 1/2), so {score <= k + 1/2} = {m <= k} exactly, and inside each plateau of m it
    ranks points by how far they are from fitting. Nested sampling on the bare count kills a whole plateau
    at once and a run goes extinct when every live point shares one count; with this score it descends
    through the plateau instead."""
    y = 2 * (_check_labels(logits, bits) > 0).astype(logits.dtype) - 1
    h = jnp.sum(jax.nn.relu(-y * logits))
    return misfit_count(logits, bits).astype(logits.dtype) + h / (2 * (1 + h))


def pack_bits(bits):
    """On the device: (..., n_bits) bool to (..., ceil(n_bits / 32)) uint32 words (bit j of word w = 32 w + j)."""
    n_bits = bits.shape[-1]
    pad = -(-n_bits // 32) * 32 - n_bits
    b = jnp.pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, pad)]).astype(jnp.uint32)
    b = b.reshape(b.shape[:-1] + (-1, 32))
    return jnp.sum(b << jnp.arange(32, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32)


def words32_to_codes(words32) -> np.ndarray:
    """(..., 2 m) uint32 words from ``pack_bits`` to (..., m) uint64 codes (``encode``'s layout)."""
    w = np.asarray(words32, dtype=np.uint64)
    if w.shape[-1] % 2:
        w = np.concatenate([w, np.zeros(w.shape[:-1] + (1,), np.uint64)], axis=-1)
    return w[..., 0::2] | (w[..., 1::2] << np.uint64(32))


def mlp_functions(key, n_samples: int, widths=(7, 40, 40, 1), sigma_w: float = 1.0, sigma_b: float = 1.0,
                  batch: int = 2 ** 14) -> np.ndarray:
    """Codes (n_samples, words) of the functions of n_samples prior draws of the ReLU network on all inputs."""
    n_samples = positive_int("n_samples", n_samples)
    widths = _check_widths(widths)
    X = jnp.asarray(inputs(widths[0]))

    @jax.jit
    def one(k):
        nets = jax.vmap(lambda kk: mlp_init(kk, widths, sigma_w, sigma_b))(jax.random.split(k, batch))
        logits = jax.vmap(lambda layers: mlp_logits(layers, X))(nets)
        return pack_bits(logits > 0)
    with jax.default_matmul_precision("highest"):    # float32, not a GPU's TF32: logits near 0 keep their sign
        parts = [np.asarray(one(k)) for k in jax.random.split(key, -(-n_samples // batch))]
    return words32_to_codes(np.concatenate(parts)[:n_samples])


def count(codes) -> tuple[np.ndarray, np.ndarray]:
    """Distinct codes (k, words) and their counts, most frequent first (ties by code)."""
    c = np.asarray(codes, dtype=np.uint64)
    unique, counts = np.unique(c.reshape(len(c), -1), axis=0, return_counts=True)
    order = np.lexsort(tuple(unique.T[::-1]) + (-counts,))
    return unique[order], counts[order]


def probability(counts, n: int, level: float = 0.95) -> list[Estimate]:
    """P(f) = count / n with a Wilson interval, per function."""
    return [proportion(int(k), int(n), level) for k in counts]
