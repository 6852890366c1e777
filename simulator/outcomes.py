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
 -7   failure    entered the ``failure`` set of a splitting run (never in a race)
====  =========  ==========================================================
"""
RUNNING = -1
TIE = -2
DIVERGED = -3
CENSORED = -4
ESCAPED = -5
EMPTY = -6
FAILURE = -7

ENGINE_LABELS = {TIE: "tie", ESCAPED: "escaped", DIVERGED: "diverged", CENSORED: "censored"}


def labels(target_names, failure: bool = False) -> dict[int, str]:
    """Map every code that can appear in a finished result to its label (``failure``: a splitting run's too)."""
    extra = {FAILURE: "failure"} if failure else {}
    return {**{k: name for k, name in enumerate(target_names)}, **ENGINE_LABELS, **extra}
