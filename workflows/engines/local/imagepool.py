"""Freshly formatted quota images made ahead of time, off a job's critical path.

Formatting an image (``mkfs.ext4``, a program start) took about 5-10 ms of a job's algorithm
step. A background thread keeps ``spares`` images per size ready in a root-only folder next to
the jobs; a job takes one by renaming it into its working folder (the same file system). Each
image is a new sparse file formatted once and used by one job only: images are never wiped
for reuse, so no job ever sees another's data. Without a spare (the first job of a size, a
burst), the job formats its own image as before. Leftovers of an earlier run are deleted.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["ImagePool"]

_log = logging.getLogger("c2d.quota")


class ImagePool:
    def __init__(self, make: Callable[[Path, int], None], spares: int = 2) -> None:
        """``make(path, limit_bytes)`` creates and formats a new image at ``path``."""
        self._make = make
        self._spares = spares
        self._lock = threading.Condition()
        self._ready: dict[tuple[Path, int], list[Path]] = {}
        self._wanted: set[tuple[Path, int]] = set()
        self._failed: set[tuple[Path, int]] = set()
        self._names = itertools.count()
        self._thread: threading.Thread | None = None
        self._cleaned: set[Path] = set()
        self._closed = False

    def take(self, folder: Path, limit_bytes: int, destination: Path) -> bool:
        """Move a ready image of ``limit_bytes`` from ``folder`` to ``destination``; False if none.

        Either way, asks the background thread to make spares of this size.
        """
        key = (folder, limit_bytes)
        with self._lock:
            ready = self._ready.get(key, [])
            image = ready.pop() if ready else None
            self._wanted.add(key)
            self._failed.discard(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._fill, name="c2d-images", daemon=True)
                self._thread.start()
            self._lock.notify()
        if image is None:
            return False
        try:
            image.rename(destination)
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Stop making images and delete the spares."""
        with self._lock:
            self._closed = True
            spares = [image for images in self._ready.values() for image in images]
            self._ready.clear()
            self._lock.notify()
            thread = self._thread
        for image in spares:
            image.unlink(missing_ok=True)
        if thread is not None:
            # An image being made right now is deleted by the thread itself: wait for that.
            thread.join(timeout=60)

    def _fill(self) -> None:
        while True:
            with self._lock:
                key = self._next()
                while key is None and not self._closed:
                    self._lock.wait()
                    key = self._next()
                if self._closed or key is None:
                    return
            folder, limit_bytes = key
            image = folder / f"{next(self._names)}-{limit_bytes}.img"
            try:
                self._prepare(folder)
                self._make(image, limit_bytes)
            except Exception:
                _log.warning("could not make a spare quota image", exc_info=True)
                with contextlib.suppress(OSError):
                    image.unlink(missing_ok=True)
                with self._lock:
                    self._failed.add(key)  # tried again at the next take() of this size
                continue
            with self._lock:
                if not self._closed:
                    self._ready.setdefault(key, []).append(image)
                    continue
            image.unlink(missing_ok=True)

    def _next(self) -> tuple[Path, int] | None:
        if self._closed:
            return None
        for key in self._wanted - self._failed:
            if len(self._ready.get(key, [])) < self._spares:
                return key
        return None

    def _prepare(self, folder: Path) -> None:
        if folder in self._cleaned:
            return
        # Images of an earlier run are not trusted to be fresh: start from an empty folder.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            folder.chmod(0o700)
        self._cleaned.add(folder)
