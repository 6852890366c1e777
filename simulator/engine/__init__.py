"""The race engine (private): lanes, blocks, the host loop, streams, traces, checkpoints, devices.

Its public face is ``sim.race`` (``engine.race.race``); nothing else here is part of the API.
"""
