"""Streaming file writers: time-ordered NDJSON sinks, fast timestamp formatting and record ids.

Records reach a sink slightly out of order (bursts overlap in time); a sink queues them and writes
everything older than the caller's "nothing earlier can still come" bound, so memory holds only the
records of overlapping bursts, never a day's or a file's worth.
"""

from __future__ import annotations

import bisect
import operator
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

_MIN_MS = 60_000
_minute_prefix_cache: dict[int, str] = {}
_day_prefix_cache: dict[int, str] = {}


def _minute_prefix(minute: int) -> str:
    day, rem = divmod(minute, 1440)
    day_prefix = _day_prefix_cache.get(day)
    if day_prefix is None:
        day_prefix = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%dT")
        _day_prefix_cache[day] = day_prefix
    prefix = f"{day_prefix}{rem // 60:02d}:{rem % 60:02d}:"
    _minute_prefix_cache[minute] = prefix
    return prefix


def iso_ms(ts: int) -> str:
    """Epoch ms -> '2026-09-01T08:15:02.123Z'; per-minute prefixes are cached (bounded by the window)."""
    minute, rem = divmod(ts, _MIN_MS)
    prefix = _minute_prefix_cache.get(minute) or _minute_prefix(minute)
    sec, ms = divmod(rem, 1000)
    return f"{prefix}{sec:02d}.{ms:03d}Z"


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Record = tuple[str, int, str]  # (stream key, epoch ms, the record's NDJSON line)
Formatter = Callable[[list[Record], int], str]
_by_time = operator.itemgetter(1)


class BackgroundWriter:
    """Encodes and writes text on one helper thread so disk I/O overlaps generation.

    Writes keep their order (one FIFO queue, one thread); the bounded queue keeps memory bounded.
    An error on the thread is raised again by the next `write` or by `close`.
    """

    def __init__(self, depth: int = 8) -> None:
        self._queue: queue.Queue[tuple[BinaryIO, str] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sandbox-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    item[0].write(item[1].encode("utf-8"))
                except BaseException as exc:  # handed to the generating thread
                    self._error = exc

    def write(self, fh: BinaryIO, text: str) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((fh, text))

    def close(self) -> None:
        """Wait for every queued write; re-raise a write error."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class SortedSink:
    """One NDJSON file written in time order; `fmt(chunk, first_index)` renders a sorted chunk of records.

    `pending` is public so the generator can `extend` it with a whole burst at once.
    """

    def __init__(self, path: Path, end_ms: int, writer: BackgroundWriter, fmt: Formatter | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO = path.open("wb", buffering=1 << 20)
        self._writer = writer
        self.pending: list[Record] = []
        self._fmt = fmt or plain_lines
        self._end = end_ms
        self.count = 0

    def flush_before(self, bound: int) -> None:
        """Write every queued record older than `bound` (and the window end), oldest first, ties in arrival order."""
        pending = self.pending
        if not pending:
            return
        pending.sort(key=_by_time)  # stable; the remainder and each burst are already sorted runs
        cut = bisect.bisect_left(pending, min(bound, self._end), key=_by_time)
        if cut:
            self._writer.write(self._fh, self._fmt(pending[:cut], self.count))
            del pending[:cut]
            self.count += cut

    def finish(self) -> None:
        """Queue what is left inside the window; records at or after the window end are dropped."""
        self.flush_before(self._end)
        self.pending.clear()

    def close_file(self) -> None:
        """Close the file (after the writer has drained)."""
        self._fh.close()


def plain_lines(chunk: list[Record], _first: int) -> str:
    """Records that are already complete lines."""
    return "".join([body for _key, _ts, body in chunk])


def gitlab_lines(first_id: int) -> Formatter:
    """Prefix each record with a string `id` that increases with time, as the database assigns it."""

    def fmt(chunk: list[Record], first: int) -> str:
        return "".join([f'{{"id":"{first_id + n}",{body}' for n, (_key, _ts, body) in enumerate(chunk, first)])

    return fmt
