"""Per-chain outcome codes (``RaceResult.outcome``).

Target ``k`` (its position in the ``targets`` list) has code ``k >= 0``.
The engine's own outcomes are negative, so they do not move when targets
are added:

====  =========  ==========================================================
code  label      meaning
====  =========  ==========================================================
 -1   running    internal: still running (never in a finished result)
 -2   tie        two or more targets entered at the same step
 -3   diverged   non-finite position or residual; never counted as a hit
 -4   censored   still running after ``max_steps`` steps
 -5   escaped    left the race's ``domain`` (e.g. the ball B_r) before any hit
 -6   empty      internal: a lane that holds no chain
====  =========  ==========================================================
"""
RUNNING = -1
TIE = -2
DIVERGED = -3
CENSORED = -4
ESCAPED = -5
EMPTY = -6

ENGINE_LABELS = {TIE: "tie", ESCAPED: "escaped", DIVERGED: "diverged", CENSORED: "censored"}


def labels(target_names) -> dict[int, str]:
    """Map every code that can appear in a finished result to its label."""
    return {**{k: name for k, name in enumerate(target_names)}, **ENGINE_LABELS}
