"""Peak resident memory of this process over time, from /proc (Linux), without extra packages.

Each sample is the peak RSS since the previous sample: the sampler reads ``VmHWM`` and then resets it
through ``/proc/self/clear_refs``, so a short spike between two samples is not missed. Where the reset
is not allowed, samples fall back to the current RSS.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    """The process's peak RSS since start (or since the last reset)."""
    return _status_kb("VmHWM")


class RssSampler:
    def __init__(self, interval_s: float = 0.02):
        self.interval_s = interval_s
        self.samples: list[tuple[float, int, float]] = []   # (time, peak RSS kB, process CPU seconds)
        self.overall_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._can_reset = True

    def _sample(self) -> None:
        if self._can_reset:
            kb = _status_kb("VmHWM")
            try:
                _CLEAR_REFS.write_text("5")
            except OSError:
                self._can_reset = False
        else:
            kb = _status_kb("VmRSS")
        self.overall_peak_kb = max(self.overall_peak_kb, kb)
        self.samples.append((time.time(), kb, time.process_time()))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def peak_between(self, start: float, end: float) -> int:
        """Peak RSS (kB) seen in samples taken in [start, end + one interval]."""
        inside = [kb for t, kb, _ in self.samples if start <= t <= end + self.interval_s * 1.5]
        return max(inside, default=0)

    def cpu_between(self, start: float, end: float) -> float:
        """Process CPU seconds (all threads, DuckDB's included) spent between two times, to a sample."""
        before = [cpu for t, _, cpu in self.samples if t <= start]
        after = [cpu for t, _, cpu in self.samples if t >= end]
        first = before[-1] if before else (self.samples[0][2] if self.samples else 0.0)
        last = after[0] if after else (self.samples[-1][2] if self.samples else 0.0)
        return max(0.0, last - first)
