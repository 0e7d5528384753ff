"""Registries of named, pluggable parts: generators, embedders, vector stores.

One table per kind of part, in the style of simonw/llm's ``register_models``: an entry is a name,
a factory and one line of help. A factory may be given as ``"module:attribute"`` so that listing
the names (for ``--help``, argparse ``choices``, the chat's settings) imports nothing heavy; it is
imported on first use. Adding a backend is one ``register`` call, never another ``if`` branch::

    >>> r = Registry("colour")
    >>> r.register("red", lambda: "#f00", "the colour red")
    >>> r.names(), r.create("red")
    (('red',), '#f00')
    >>> r.check("blue")
    Traceback (most recent call last):
    ...
    ValueError: colour must be one of 'red'. Currently, colour is 'blue'
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable


@dataclass(frozen=True)
class Entry:
    name: str
    factory: Callable[..., Any] | str  # a callable, or "package.module:attribute", imported on first use
    help: str = ""

    def load(self) -> Callable[..., Any]:
        if callable(self.factory):
            return self.factory
        module, _, attr = self.factory.partition(":")
        obj = import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


class Registry:
    """Named factories of one kind of part."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, factory: Callable[..., Any] | str, help: str = "") -> None:
        """Add (or replace) the part called ``name``."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} needs a non-empty name. Currently, name is {name!r}")
        self._entries[name] = Entry(name, factory, help)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def help(self, name: str) -> str:
        return self._entries[self.check(name)].help

    def check(self, name) -> str:
        """``name`` if registered, else a ``ValueError`` listing the valid names."""
        if name not in self._entries:
            valid = ", ".join(repr(n) for n in self._entries)
            raise ValueError(f"{self.kind} must be one of {valid}. Currently, {self.kind} is {name!r}")
        return name

    def create(self, name: str, *args, **kwargs):
        """Call the factory registered as ``name``."""
        return self._entries[self.check(name)].load()(*args, **kwargs)

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries.values())
