"""Local emulator of Cloudflare's Addressing API for BYOIP service bindings."""

from cloudflare_byoip.emulator.exceptions import ApiError
from cloudflare_byoip.emulator.faults import Faults
from cloudflare_byoip.emulator.models import Emulator, SeedError

__all__ = ["ApiError", "Emulator", "Faults", "SeedError"]
