"""Settings of `postag serve` (no web dependencies, so the CLI can read the defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from ..batching import MAX_BATCH_TOKENS


@dataclass
class ServeConfig:
    max_batch_tokens: int = MAX_BATCH_TOKENS  # micro-batching: tokens per session run
    max_wait_ms: float = 5.0  # how long the first request of a batch waits for company
    queue_size: int = 1024  # requests waiting; beyond it → 503 + Retry-After
    max_body_bytes: int = 1_000_000  # → 413
    max_sentences: int = 1000  # per request → 413
    max_tokens: int = 20_000  # per request → 413
    max_token_chars: int = 1000  # one token's length → 422
    max_top_k: int = 20
    text_workers: int = 2  # processes that split raw texts into sentences
