"""Faults injected on demand: rate limit, random 5xx, latency, lost create answers."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FAULT_STATUSES = (500, 502, 503)
"""Statuses a random failure answers with, picked at random."""

EVERY_CREATE = -1
"""`fail_after_create` value that fails every create after committing it."""


@dataclass
class RateLimitVerdict:
    """The rate limiter's answer for one request."""

    limited: bool
    """True when the request must be answered 429."""
    remaining: int
    """Requests left in the current window."""
    reset_seconds: float
    """Seconds until the window resets."""


@dataclass
class Faults:
    """Faults the app consults on every `/client/v4` request; tests mutate it live.

    The rate limit counts every request to `/client/v4` (all tokens together) in
    fixed windows of `rate_limit_window` seconds; past `rate_limit` requests, each
    answer is 429 until the window ends, as Cloudflare's limit does.
    """

    rate_limit: int | None = None
    """Requests allowed per window; None disables the limit."""
    rate_limit_window: float = 300.0
    """Window length in seconds (Cloudflare's is five minutes)."""
    fail_rate: float = 0.0
    """Probability (0 to 1) that a request is answered 500, 502 or 503 untouched."""
    fail_retry_after: float | None = None
    """`Retry-After` seconds sent with random 5xx answers; None sends none."""
    latency_ms: float = 0.0
    """Milliseconds added before every answer."""
    fail_after_create: int = 0
    """Creates still to commit and then answer 500: a count, or EVERY_CREATE."""
    seed: int | None = None
    """Seed of the random generator, for reproducible failure sequences."""
    clock: Callable[[], float] = time.monotonic
    """Clock of the rate-limit windows."""

    injected_failures: int = field(init=False, default=0)
    """Random 5xx answers given so far (tests read it to see faults happened)."""
    rate_limited: int = field(init=False, default=0)
    """429 answers given so far."""
    failed_creates: int = field(init=False, default=0)
    """Creates committed and then answered 500 so far."""

    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(
        init=False, repr=False, default_factory=threading.Lock
    )
    _window_start: float = field(init=False, repr=False, default=-math.inf)
    _window_count: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the random generator from a seed."""
        with self._lock:
            self.seed = seed
            self._random = random.Random(seed)

    def check_rate_limit(self) -> RateLimitVerdict | None:
        """Count one request; return the verdict, or None when no limit is set."""
        if self.rate_limit is None:
            return None
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.rate_limit_window:
                self._window_start = now
                self._window_count = 0
            self._window_count += 1
            reset = max(0.0, self._window_start + self.rate_limit_window - now)
            limited = self._window_count > self.rate_limit
            self.rate_limited += limited
            remaining = max(0, self.rate_limit - self._window_count)
            return RateLimitVerdict(limited, remaining, reset)

    def roll_failure(self) -> int | None:
        """Return a 5xx status to answer with, or None to serve the request."""
        if self.fail_rate <= 0:
            return None
        with self._lock:
            if self._random.random() >= self.fail_rate:
                return None
            self.injected_failures += 1
            return self._random.choice(FAULT_STATUSES)

    def take_fail_after_create(self) -> bool:
        """Tell whether this create, once committed, must be answered 500."""
        with self._lock:
            if self.fail_after_create == 0:
                return False
            if self.fail_after_create > 0:
                self.fail_after_create -= 1
            self.failed_creates += 1
            return True
