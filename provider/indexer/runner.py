"""The index of every served chain: a background thread keeping it caught up, the lookups the
Aquarius route answers from, and its progress for metrics and ``c2d chains``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from provider.assets.resolver import first_found
from provider.errors import ServiceUnavailable
from provider.indexer.follower import ChainIndexer
from provider.indexer.resolver import IndexResolver, served_ddo
from provider.indexer.store import Cursor, IndexStore

__all__ = ["RANGES_PER_PASS", "AssetIndex"]

_log = logging.getLogger("c2d.indexer")

# Ranges one pass reads before letting a request's own catch-up in (the lock is per chain).
RANGES_PER_PASS = 5


class AssetIndex:
    def __init__(
        self,
        indexers: Sequence[ChainIndexer],
        resolvers: Sequence[IndexResolver],
        store: IndexStore,
        *,
        interval: float,
    ) -> None:
        self.resolvers = tuple(resolvers)
        self.store = store
        self._indexers = tuple(indexers)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: dict[int, str] = {}

    def start(self) -> None:
        if self._thread is None and self._indexers:
            self._thread = threading.Thread(target=self._run, name="c2d-indexer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def ddo(self, did: str) -> dict[str, Any]:
        """The DDO of ``did`` as indexed, whatever its state (Aquarius' answer)."""
        return first_found([_served_by(resolver) for resolver in self.resolvers], did)

    def progress(self) -> list[Cursor]:
        return self.store.cursors()

    def run_once(self) -> bool:
        """One pass over every chain; whether one of them is still behind its head."""
        behind = False
        for indexer in self._indexers:
            try:
                done = indexer.catch_up(ranges=RANGES_PER_PASS)
            except ServiceUnavailable as error:
                if self._failing.get(indexer.chain_id) != str(error):
                    _log.warning("%s", error)
                self._failing[indexer.chain_id] = str(error)
                continue
            if self._failing.pop(indexer.chain_id, None) is not None:
                _log.info("chain %s: indexing again", indexer.chain_id)
            behind = behind or done.behind > 0
        return behind

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.run_once():
                self._stop.wait(self._interval)


def _served_by(resolver: IndexResolver) -> Callable[[str], dict[str, Any]]:
    def lookup(did: str) -> dict[str, Any]:
        return served_ddo(resolver.record(did))

    return lookup
