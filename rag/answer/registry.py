"""``GENERATORS``: the one table of answer generators. Config validation, every ``--generator``
choice, the chat's settings and ``ragqa eval`` read their names from here. A factory is called as
``factory(config, embedder)`` and returns a ``rag.answer.generators.Generator``.

Add your own: ``GENERATORS.register("mine", lambda config, embedder: MyGenerator(), "what it does")``.
"""

from __future__ import annotations

from rag.registry import Registry

GENERATORS = Registry("generator")
GENERATORS.register("extractive", "rag.answer.generators:extractive",
                    "quotes the sentences of the documents that best answer: no language model, "
                    "grounded by construction, answers in milliseconds")
GENERATORS.register("local", "rag.answer.generators:local",
                    "a small language model (GGUF) run by llama.cpp on this machine; slow on a CPU")
GENERATORS.register("openai", "rag.answer.generators:openai",
                    "any OpenAI-compatible server (Ollama, vLLM, llama.cpp, a hosted API) at --openai-base-url")
