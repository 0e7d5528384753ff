"""The assistant the chat window serves, with its labels and example questions. An upload that
commits swaps in a new assistant; answers already running keep the one they started with.

>>> live = Live(assistant); assistant, labels, examples = live.snapshot()  # doctest: +SKIP
"""

from __future__ import annotations

import threading

from .examples import checked_examples
from .labels import Labels


class Live:
    def __init__(self, assistant, name: str | None = None, bundled: bool | None = None, examples=None):
        self._lock = threading.Lock()
        self.name = name
        self.version = 0
        if bundled is None:
            bundled = bool(getattr(getattr(assistant, "config", None), "is_bundled", False))
        self._set(assistant, bundled, examples)

    def _set(self, assistant, bundled: bool, examples) -> None:
        self.assistant, self.bundled = assistant, bundled
        self.labels = Labels.build(assistant.documents, bundled, self.name)
        self.examples = list(examples) if examples is not None else checked_examples(assistant, self.labels, bundled)

    def snapshot(self):
        """(assistant, labels, examples), consistent with each other."""
        with self._lock:
            return self.assistant, self.labels, list(self.examples)

    def swap(self, assistant, bundled: bool = False) -> None:
        """Serve ``assistant`` from now on; its labels and examples are computed before the swap."""
        labels = Labels.build(assistant.documents, bundled, self.name)
        examples = checked_examples(assistant, labels, bundled)
        with self._lock:
            self.assistant, self.bundled, self.labels, self.examples = assistant, bundled, labels, examples
            self.version += 1

    @property
    def documents(self):
        return self.assistant.documents
