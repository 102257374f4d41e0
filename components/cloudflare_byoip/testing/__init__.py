"""Test helpers: Pulumi mocks backed by the emulator model, and the deploy replay.

``ByoipMocks`` is for users' own unit tests (moto-style); ``pulumi_mocks``
installs them with a ``RecordingMonitor`` and restores Pulumi's global state
afterwards. ``provider_process`` runs the real provider over gRPC.
"""

from .mocks import (
    BYOIP_PREFIX_TYPE,
    COMPONENT_TYPE,
    SERVICE_BINDING_TYPE,
    ByoipMocks,
    MockedApiError,
    RecordingMonitor,
    Registration,
    pulumi_mocks,
)

__all__ = [
    "BYOIP_PREFIX_TYPE",
    "COMPONENT_TYPE",
    "SERVICE_BINDING_TYPE",
    "ByoipMocks",
    "MockedApiError",
    "RecordingMonitor",
    "Registration",
    "pulumi_mocks",
]
