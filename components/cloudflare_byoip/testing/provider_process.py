"""Drive the real dynamic provider process over gRPC, as the Pulumi engine does.

``ProviderProcess`` starts ``python -u -m pulumi.dynamic``, reads the port it
prints, calls ``Configure`` with the stack config and then serves ``check``,
``diff``, ``create``, ``read``, ``update`` and ``delete`` on plain dicts. It
captures the child's stdout and stderr, and always kills the child on exit.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from ..provider import PROVIDER_KEY, ServiceBindingProvider

SERVICE_BINDING_TYPE = "pulumi-python:dynamic/byoip:ServiceBinding"
"""The resource type of ``ServiceBinding``, as it appears in URNs."""

UNKNOWN = rpc.UNKNOWN
"""The value the engine sends for an input not known at preview."""

START_TIMEOUT_SECONDS = 30.0
"""How long the child may take to print its port and accept a connection."""

RPC_TIMEOUT_SECONDS = 120.0
"""The deadline of every RPC unless the caller sets another."""


def provider_value() -> str:
    """The ``__provider`` property the engine sends: the pickled provider."""
    value: str = serialize_provider(ServiceBindingProvider())
    return value


def urn(
    name: str,
    *,
    project: str = "byoip",
    stack: str = "test",
    type_: str = SERVICE_BINDING_TYPE,
) -> str:
    """A resource URN, e.g. ``urn:pulumi:test::byoip::<type>::<name>``."""
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


class ProviderStartError(RuntimeError):
    """The provider process did not start or did not answer Configure."""


class ProviderError(RuntimeError):
    """An RPC the provider answered with an error.

    ``message`` is the last line of the details, which for an exception raised
    by the provider is its type and text; ``details`` keeps the whole report.
    """

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        lines = [line for line in details.strip().splitlines() if line.strip()]
        self.message = lines[-1] if lines else ""
        super().__init__(f"{method} failed ({code.name}): {self.message}")


@dataclass(frozen=True)
class DiffOutcome:
    """What ``Diff`` answered."""

    changes: str
    """``none``, ``some`` or ``unknown``."""
    replaces: tuple[str, ...]
    """Properties whose change replaces the resource."""
    delete_before_replace: bool
    """Whether a replacement deletes the old resource first."""


class _Capture:
    """Collects a pipe's output on a thread; hands over the first line."""

    def __init__(self, stream: IO[bytes], name: str, *, first_line: bool) -> None:
        self._stream = stream
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self.first_line: bytes | None = None
        self.first_line_ready = threading.Event()
        self._wants_first = first_line
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self._wants_first:
            self.first_line = self._stream.readline()
            self.first_line_ready.set()
        while chunk := self._stream.read1(65536):  # type: ignore[attr-defined]
            with self._lock:
                self._chunks.append(chunk)
        self.first_line_ready.set()

    def text(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", "replace")

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class ProviderProcess:
    """The dynamic provider server in a child process, driven over gRPC.

    ``config`` is the stack config as the engine passes it to Configure
    (namespaced keys, string values); keys in ``secret_keys`` are sent as
    secrets. The child inherits this process's environment without its
    ``CLOUDFLARE_`` variables, plus ``env``. Every property dict given to a
    method gets ``__provider`` added when it lacks one; results come back
    without it.
    """

    def __init__(
        self,
        config: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        *,
        secret_keys: Iterable[str] = ("cloudflare:apiToken",),
        provider: str | None = None,
        start_timeout: float = START_TIMEOUT_SECONDS,
        rpc_timeout: float = RPC_TIMEOUT_SECONDS,
    ) -> None:
        self.config = dict(config)
        self.env = dict(env or {})
        self.secret_keys = frozenset(secret_keys)
        self.provider = provider if provider is not None else provider_value()
        """The ``__provider`` value added to requests."""
        self.start_timeout = start_timeout
        self.rpc_timeout = rpc_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout: _Capture | None = None
        self._stderr: _Capture | None = None
        self._channel: grpc.Channel | None = None
        self._stub: Any = None

    # Life of the child process

    def __enter__(self) -> ProviderProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the child, connect, and call Configure."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
        env.update(self.env)
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        self._stdout = _Capture(
            self._process.stdout, "provider-stdout", first_line=True
        )
        self._stderr = _Capture(
            self._process.stderr, "provider-stderr", first_line=False
        )

        if not self._stdout.first_line_ready.wait(self.start_timeout):
            raise ProviderStartError(
                f"the provider process printed no port within {self.start_timeout} s; "
                f"its stderr:\n{self.stderr}"
            )
        line = (self._stdout.first_line or b"").decode("utf-8", "replace").strip()
        if not line.isdigit():
            self._process.poll()
            raise ProviderStartError(
                f"the provider process printed {line!r} instead of a port (exit code "
                f"{self._process.returncode}); its stderr:\n{self.stderr}"
            )
        self.port = int(line)

        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        try:
            grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
        except grpc.FutureTimeoutError:
            raise ProviderStartError(
                f"the provider process did not accept a connection on port "
                f"{self.port} within {self.start_timeout} s; its stderr:\n"
                f"{self.stderr}"
            ) from None
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        self.configure()

    def stop(self) -> None:
        """Close the channel and kill the child; safe to call more than once."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for capture in (self._stdout, self._stderr):
            if capture is not None:
                capture.join(timeout=5)

    @property
    def stdout(self) -> str:
        """What the child wrote to stdout after its port line."""
        return self._stdout.text() if self._stdout is not None else ""

    @property
    def stderr(self) -> str:
        """What the child wrote to stderr (the provider's logs end up here)."""
        return self._stderr.text() if self._stderr is not None else ""

    def stderr_since(self, offset: int, expect: str, timeout: float = 5.0) -> str:
        """What stderr gained after ``offset``, once ``expect`` shows up in it.

        The child's logs reach the pipe after its RPC answer, so a caller that
        looks for a log line waits for it (up to ``timeout`` seconds) rather
        than reading too early; the text is returned either way.
        """
        deadline = time.monotonic() + timeout
        while True:
            written = self.stderr[offset:]
            if expect in written or time.monotonic() >= deadline:
                return written
            time.sleep(0.01)

    # RPCs

    def configure(self) -> None:
        """Send the stack config, as ``variables`` and as ``args``."""
        args = {
            key: rpc.wrap_rpc_secret(value) if key in self.secret_keys else value
            for key, value in self.config.items()
        }
        request = proto.ConfigureRequest(
            variables=self.config,
            args=_struct(args),
            acceptSecrets=True,
            acceptResources=True,
        )
        try:
            self._call("Configure", request)
        except ProviderError as error:
            raise ProviderStartError(f"Configure failed: {error.details}") from None

    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Check news against olds (old inputs); returns inputs and failures."""
        request = proto.CheckRequest(
            urn=urn, olds=self._props(olds, {}), news=self._props(news)
        )
        response = self._call("Check", request)
        inputs = _plain(rpc.deserialize_properties(response.inputs, True))
        failures = [(f.property, f.reason) for f in response.failures]
        return inputs, failures

    def diff(
        self, id_: str, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> DiffOutcome:
        """Diff old outputs against new inputs."""
        request = proto.DiffRequest(
            id=id_, urn=urn, olds=self._props(olds), news=self._props(news)
        )
        response = self._call("Diff", request)
        changes = {
            proto.DiffResponse.DIFF_NONE: "none",
            proto.DiffResponse.DIFF_SOME: "some",
        }.get(response.changes, "unknown")
        return DiffOutcome(
            changes, tuple(response.replaces), bool(response.deleteBeforeReplace)
        )

    def create(self, urn: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create from checked inputs; returns the id and the outputs."""
        request = proto.CreateRequest(urn=urn, properties=self._props(inputs))
        response = self._call("Create", request)
        return response.id, _plain(rpc.deserialize_properties(response.properties))

    def read(
        self,
        id_: str,
        urn: str,
        props: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        """Refresh; returns the id ("" when gone), outputs, and new inputs if any."""
        request = proto.ReadRequest(
            id=id_,
            urn=urn,
            properties=self._props(props),
            inputs=self._props(inputs) if inputs is not None else None,
        )
        response = self._call("Read", request)
        new_inputs = (
            _plain(rpc.deserialize_properties(response.inputs))
            if response.HasField("inputs")
            else None
        )
        outputs = _plain(rpc.deserialize_properties(response.properties))
        return response.id, outputs, new_inputs

    def update(
        self, id_: str, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Update in place from old outputs to new inputs; returns the outputs."""
        request = proto.UpdateRequest(
            id=id_, urn=urn, olds=self._props(olds), news=self._props(news)
        )
        response = self._call("Update", request)
        return _plain(rpc.deserialize_properties(response.properties))

    def delete(self, id_: str, urn: str, props: Mapping[str, Any]) -> None:
        """Delete, given the resource's outputs."""
        request = proto.DeleteRequest(id=id_, urn=urn, properties=self._props(props))
        self._call("Delete", request)

    def _props(
        self, props: Mapping[str, Any], empty: Mapping[str, Any] | None = None
    ) -> Any:
        if empty is not None and not props:
            return _struct(empty)
        with_provider = dict(props)
        with_provider.setdefault(PROVIDER_KEY, self.provider)
        return _struct(with_provider)

    def _call(self, method: str, request: Any) -> Any:
        if self._stub is None:
            raise ProviderStartError(
                "the provider process is not running; use ProviderProcess in a "
                "with block or call start()"
            )
        try:
            return getattr(self._stub, method)(request, timeout=self.rpc_timeout)
        except grpc.RpcError as error:
            code = error.code()
            details = error.details() or ""
            process = self._process
            exited = process is not None and process.poll() is not None
            if code == grpc.StatusCode.UNAVAILABLE and process is not None and exited:
                details += (
                    f"\n(the provider process exited with code "
                    f"{process.returncode}; its stderr:\n{self.stderr})"
                )
            raise ProviderError(method, code, details) from None


def _struct(props: Mapping[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _plain(props: Any) -> dict[str, Any]:
    """Deserialized properties without ``__provider``, secrets unwrapped."""
    return {
        key: rpc.unwrap_rpc_secret(value)
        for key, value in dict(props).items()
        if key != PROVIDER_KEY
    }
