"""Subcommands beyond index/search: ask, chat, eval. Registered by ``rag.cli``."""

from __future__ import annotations


def register(sub, common, config_of, style, print_passages) -> None:
    pass
