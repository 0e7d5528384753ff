"""Progress for long work: a tqdm bar with an ETA on a terminal, plain periodic lines otherwise (logs,
CI, pipes). Both are driven by ``(done, total)`` calls and write to stderr."""

from __future__ import annotations

import sys
import time


class Progress:
    """``p = Progress("embedding", unit="text"); p(0, 900); p(450, 900); p(900, 900)``"""

    def __init__(self, desc: str, unit: str = "item", tty: bool | None = None, every: float = 10.0,
                 clock=time.monotonic, detail: str = ""):
        self.desc, self.unit, self.every, self.clock, self.detail = desc, unit, every, clock, detail
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._bar = None
        self._start = self._last = None
        self._last_pct = -1

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            self._bar_update(done, total)
        else:
            self._line_update(done, total)

    def _bar_update(self, done, total):
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.desc, unit=self.unit, file=sys.stderr, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._bar.close()

    def _line_update(self, done, total):
        now = self.clock()
        if self._start is None:
            self._start = self._last = now
            print(f"{self.desc} {total} {self.unit}s{self.detail} ...", file=sys.stderr, flush=True)
            if done < total:
                return
        pct = int(100 * done / total) if total else 100
        # a line every `every` seconds (at most one per 10 %), and always the last one
        if done < total and (now - self._last < self.every or pct // 10 == self._last_pct // 10):
            return
        self._last, self._last_pct = now, pct
        elapsed = now - self._start
        left = f", about {elapsed / done * (total - done):.0f} s left" if 0 < done < total else ""
        print(f"{self.desc}: {done}/{total} {self.unit}s ({pct}%){left}, {elapsed:.0f} s so far",
              file=sys.stderr, flush=True)
