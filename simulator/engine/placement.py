"""Where the lanes live: one device, or a 1-D mesh over a "chains" axis."""
from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


class Placement:
    """Where the lanes live: one device, or a 1-D mesh over a "chains" axis (sharded jit).

    Every lane field has the lane axis first and each lane's work is independent,
    so sharding that axis splits the chains across devices with no communication
    inside a block; lane counts are rounded up to a multiple of the device count.
    A chain's path depends only on (seed, chain index), so results do not depend
    on the number of devices.
    """

    def __init__(self, devices):
        self.devices = list(devices)
        self.n = len(self.devices)
        if self.n > 1:
            mesh = Mesh(np.array(self.devices), ("chains",))
            self.split = NamedSharding(mesh, PartitionSpec("chains"))
            self.whole = NamedSharding(mesh, PartitionSpec())

    @property
    def key(self) -> tuple:
        """The devices, as a compiled program's cache key holds them."""
        return tuple(self.devices)

    def width(self, lanes: int) -> int:
        return -(-lanes // self.n) * self.n

    def lanes(self, tree):
        return jax.device_put(tree, self.split if self.n > 1 else self.devices[0])

    def replicated(self, tree):
        return jax.device_put(tree, self.whole if self.n > 1 else self.devices[0])


def check_devices(devices):
    if devices is None:
        return jax.local_devices()
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise TypeError("devices must be None (all local devices) or a non-empty list of jax devices")
    return devices
