"""Stage 1, ingest: files in, ``Document``s out (numbered paragraphs with character spans), then
token-aware chunks.

- ``formats``: reading .txt/.md/.html/.pdf/.docx, decoding, the bundled article's page-chrome filter
- ``docx``: Word files, with the standard library
- ``document``: ``Document`` and ``Paragraph``
- ``sentences``: sentence spans
- ``chunking``: tiktoken-counted chunks of whole paragraphs
- ``tokens``: tiktoken encodings, loaded offline
- ``terms``: the word tokenizer shared by BM25, queries and citation checks

Nothing here imports a later stage.
"""
