"""Stage 1, ingest: files in, ``Document``s out (numbered paragraphs with character spans), then
token-aware chunks.

- ``formats``: ``load_document``: one file of any supported type, plus .html and .pdf
- ``sources``: files, folders and ``Document``s to documents, with what was skipped and why
- ``decoding``: bytes to text, UTF-8 first, bad bytes replaced and counted
- ``plaintext``: paragraphs at blank lines, nothing dropped (everyone's .txt)
- ``markdown``: front matter as metadata, headings as title and sections
- ``docx``: Word files (python-docx)
- ``article``: the bundled web article's layout and page-chrome filter (opt-in for other files)
- ``document``: ``Document`` and ``Paragraph``
- ``sentences``: sentence spans
- ``chunking``: tiktoken-counted chunks of whole paragraphs
- ``tokens``: tiktoken encodings, loaded offline
- ``terms``: the word tokenizer shared by BM25, queries and citation checks

Nothing here imports a later stage.
"""
