"""Content-addressed response cache in SQLite (WAL mode), so runs are free to repeat and resume.

The key covers only what changes an answer: the model's identity (backend, name, endpoint,
revision), the messages and the sampling settings. Timeouts, retries and concurrency are left
out. Only answers are stored (``ok`` and ``blocked``); a failed call is never cached, so the
next run tries it again. Each answer is committed as soon as it arrives: a run killed half-way
keeps everything it finished.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from expected_harm.models._types import (
    ChatResult,
    GenerateConfig,
    Message,
    Status,
    TokenLogprob,
    Usage,
)
from expected_harm.paths import cache_dir

CACHEABLE = frozenset({Status.OK, Status.BLOCKED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    text TEXT NOT NULL,
    error TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    logprobs TEXT,
    request TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(identity: dict[str, str], messages: list[Message], config: GenerateConfig) -> str:
    """SHA-256 over the canonical JSON of everything that changes the answer."""
    payload = {"identity": identity, "messages": messages, "config": config.as_dict()}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def default_cache_path() -> Path:
    return cache_dir() / "responses.sqlite"


class ResponseCache:
    """Answers by cache key, in one SQLite file that several processes may share.

    Args:
        path: The database file; defaults to ``responses.sqlite`` in the cache folder
            (``$EXPECTED_HARM_CACHE_DIR``).
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, key: str) -> ChatResult | None:
        """The stored answer for ``key``, marked ``cached=True``, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT model, status, text, error, prompt_tokens, completion_tokens, logprobs "
                "FROM responses WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        model, status, text, error, prompt_tokens, completion_tokens, logprobs = row
        return ChatResult(
            model=model,
            key=key,
            status=Status(status),
            text=text,
            error=error,
            usage=Usage(prompt_tokens, completion_tokens),
            logprobs=_decode_logprobs(logprobs),
            cached=True,
        )

    def put(self, result: ChatResult, request: dict[str, Any]) -> bool:
        """Store an answer; returns False (and stores nothing) for uncacheable statuses."""
        if result.status not in CACHEABLE:
            return False
        logprobs = (
            json.dumps([asdict(t) for t in result.logprobs])
            if result.logprobs is not None
            else None
        )
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    result.key,
                    result.model,
                    result.status.value,
                    result.text,
                    result.error,
                    result.usage.prompt_tokens,
                    result.usage.completion_tokens,
                    logprobs,
                    json.dumps(request, ensure_ascii=False),
                    time.time(),
                ),
            )
            self._db.commit()
        return True

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def stats(self) -> pd.DataFrame:
        """Rows per model and status, with token totals."""
        with self._lock:
            return pd.read_sql_query(
                "SELECT model, status, COUNT(*) AS rows, SUM(prompt_tokens) AS prompt_tokens, "
                "SUM(completion_tokens) AS completion_tokens FROM responses "
                "GROUP BY model, status ORDER BY model, status",
                self._db,
            )

    def clear(self, model: str | None = None) -> int:
        """Delete every answer (or one model spec's); returns how many rows went."""
        with self._lock:
            if model is None:
                deleted = self._db.execute("DELETE FROM responses").rowcount
            else:
                deleted = self._db.execute(
                    "DELETE FROM responses WHERE model = ?", (model,)
                ).rowcount
            self._db.commit()
        return deleted

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _decode_logprobs(raw: str | None) -> tuple[TokenLogprob, ...] | None:
    if raw is None:
        return None
    return tuple(TokenLogprob(**item) for item in json.loads(raw))
