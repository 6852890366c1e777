"""The race engine (private): lanes, the race program, its driver, the program cache, streams, traces,
checkpoints, devices.

Its public face is ``sim.race`` (``engine.race.race``); nothing else here is part of the API. The rare-event
algorithms built on it (splitting, nested sampling) live beside it, in ``simulator.rare``.
"""
