"""Progress of a long offline run: "declared N resources..." on a terminal, nothing elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

# At most a few updates a second: enough to see it move, too few to slow the run.
INTERVAL_SECONDS = 0.25


class TerminalProgress:
    """Rewrites one status line in place, at most once per `interval` seconds.

    Nothing is written before the first interval has passed, so a quick run stays silent;
    `clear()` erases the line, so the command's own output starts on a clean line.
    """

    def __init__(
        self, stream: TextIO, interval: float = INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.last_shown = clock()
        self.shown = False

    def __call__(self, declared: int) -> None:
        now = self.clock()
        if now - self.last_shown < self.interval:
            return
        self.last_shown = now
        self.shown = True
        self.stream.write(f"\rdeclared {declared} resource{'' if declared == 1 else 's'}...")
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


@contextmanager
def progress_on(stream: TextIO) -> Iterator[TerminalProgress | None]:
    """A progress callback for `run_program` when `stream` is a terminal, else None (silent)."""
    if not stream.isatty():
        yield None
        return
    progress = TerminalProgress(stream, INTERVAL_SECONDS)
    try:
        yield progress
    finally:
        progress.clear()
