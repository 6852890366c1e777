"""Plots of race results (matplotlib's object API, PNG files).

Figures are ``matplotlib.figure.Figure`` objects drawn on their own canvas:
nothing here touches pyplot's global state or calls ``matplotlib.use``, so a
notebook's backend is left as the user set it.

* ``cumulative_incidence``: F_k(t) = P(outcome k by step t) for every target,
  and for escaped / diverged chains, with pointwise Wilson 95 % bands; the
  censored fraction (still running at max_steps) is written in the legend.
* ``hitting_histogram``: histograms of the stop steps per target (log-spaced bins).
* ``race_figure``: both panels side by side, written to a PNG.
* ``gallery``: a figure f and its images g.f for a few chains at their hit.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .files import atomic_path


def figure(nrows: int = 1, ncols: int = 1, figsize=(6, 4), **subplots):
    """(fig, axes): a new ``matplotlib.figure.Figure`` and ``fig.subplots(nrows, ncols, **subplots)``."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **subplots)


def _shown(result):
    """Outcome labels worth a curve: every target, plus escaped/diverged when they occur."""
    counts = result.counts
    return [name for name in result.target_names] + [
        name for name in ("tie", "escaped", "diverged") if counts.get(name, 0)]


def cumulative_incidence(result, ax, level: float = 0.95) -> None:
    top = max(1, int(result.config.get("max_steps", result.stop_step.max() or 1)))
    grid = np.unique(np.geomspace(1, top, 200).astype(int))
    for name in _shown(result):
        cif = result.cumulative_incidence(name, grid, level)
        line, = ax.plot(cif.steps, cif.value, label=f"{name} ({result.counts[name]})")
        ax.fill_between(cif.steps, cif.low, cif.high, color=line.get_color(), alpha=0.25, lw=0)
    censored = result.counts["censored"]
    ax.plot([], [], " ", label=f"censored at {top}: {censored} ({censored / result.n_chains:.1%})")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cumulative incidence")
    ax.legend(fontsize=7)


def hitting_histogram(result, ax) -> None:
    hits = [result.stop_step[result.outcome == code] for code in range(len(result.target_names))]
    top = max([h.max() for h in hits if h.size] + [1])
    bins = np.unique(np.geomspace(1, top + 1, 40).astype(int))
    for name, h in zip(result.target_names, hits):
        if h.size:
            ax.hist(np.maximum(h, 1), bins=bins, histtype="step", label=f"{name} ({h.size})")
    ax.set_xscale("log")
    ax.set_xlabel("hitting step")
    ax.set_ylabel("chains")
    ax.legend(fontsize=7)


def race_figure(result, path, title: str = "") -> None:
    """Cumulative incidence and hitting-step histogram of one race, as a PNG."""
    fig, axes = figure(1, 2, figsize=(10, 3.6))
    cumulative_incidence(result, axes[0])
    hitting_histogram(result, axes[1])
    if title:
        fig.suptitle(title, fontsize=9)
    save(fig, path)


def gallery(group, figures: dict, result, path, n: int = 4, title: str = "") -> None:
    """For each target (a row): its figure f (grey) and g.f (colour, ``group.act``) for up to ``n``
    chains that hit it, g the chain's position at the hit. ``figures`` maps target names to figures."""
    names = list(result.target_names)
    fig, axes = figure(len(names), n, figsize=(2.2 * n, 2.3 * len(names)), squeeze=False)
    for row, name in enumerate(names):
        points = np.asarray(figures[name].points)
        chains = np.flatnonzero(result.outcome == row)[:n]
        for col in range(n):
            ax = axes[row, col]
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.plot(points[:, 0], points[:, 1], ".", color="0.7", ms=1)
            reach = 1.3 * np.abs(points).max()
            ax.set_xlim(-reach, reach)
            ax.set_ylim(-reach, reach)
            if col < chains.size:
                moved = np.asarray(group.act(np.asarray(result.position[chains[col]]), points))
                ax.plot(moved[:, 0], moved[:, 1], ".", ms=1)
                ax.set_title(f"{name}: chain {chains[col]}, step {result.stop_step[chains[col]]}", fontsize=6)
            elif col == 0:
                ax.set_title(f"{name}: no chain hit it", fontsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    save(fig, path)


def save(fig, path) -> None:
    """Tight layout, then write a PNG at 110 dpi (atomically: a reader never sees half a file)."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


__all__ = ["cumulative_incidence", "hitting_histogram", "race_figure", "gallery", "save", "figure"]
