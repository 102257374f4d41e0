"""Where the emulator keeps its state document: in memory, or in a SQLite file."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol


class Store(Protocol):
    """Holds the emulator's whole state as one JSON-ready document."""

    def load(self) -> dict[str, Any] | None:
        """Return the saved document, or None when nothing was saved yet."""
        ...

    def save(self, document: dict[str, Any]) -> None:
        """Replace the saved document."""
        ...


class MemoryStore:
    """Keeps nothing beyond the process: the state lives in the model's objects."""

    def __init__(self) -> None:
        self._document: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        """Return the document saved in this process, if any."""
        return self._document

    def save(self, document: dict[str, Any]) -> None:
        """Keep the document for this process only."""
        self._document = document


class SqliteStore:
    """Keeps the state document in one row of a SQLite file, so it survives restarts.

    The whole document is rewritten on each change; that is plenty for the few
    prefixes and bindings an emulator holds, and keeps the schema trivial.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        """The SQLite file; created with its table when missing."""
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS state "
                "(id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL)"
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """Open the file, commit what the block did, and close it again."""
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            yield connection

    def load(self) -> dict[str, Any] | None:
        """Return the document saved in the file, or None for a new file."""
        with self._lock, self._connect() as connection:
            row = connection.execute(
                "SELECT document FROM state WHERE id = 1"
            ).fetchone()
        if row is None:
            return None
        document: dict[str, Any] = json.loads(row[0])
        return document

    def save(self, document: dict[str, Any]) -> None:
        """Write the document to the file in one transaction."""
        text = json.dumps(document, sort_keys=True)
        with self._lock, self._connect() as connection:
            connection.execute(
                "INSERT INTO state (id, document) VALUES (1, ?) "
                "ON CONFLICT(id) DO UPDATE SET document = excluded.document",
                (text,),
            )
