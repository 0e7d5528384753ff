"""Stage 5, answer: passages in, a cited ``Answer`` (or an honest abstention) out.

- ``assistant``: ``Assistant``, retrieve, gate, generate, validate
- ``generators``: the ``Generator`` protocol and the built-in generators
- ``registry``: ``GENERATORS``, the one table of generator names
- ``llm``: language-model backends (llama.cpp in process, OpenAI-compatible HTTP)
- ``prompts``: every prompt, as plain strings
- ``citations``: marker parsing and citation validation, whatever wrote the draft
"""
