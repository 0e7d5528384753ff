"""Named exceptions. Every error the library raises on purpose is a ``RagError``."""


class RagError(Exception):
    """Base class for all errors raised by ragqa."""


class IngestError(RagError, ValueError):
    """A document could not be read: empty, binary, undecodable or unsupported."""


class IndexNotFoundError(RagError, FileNotFoundError):
    """No index at the given directory."""


class IndexCorruptedError(RagError):
    """An index file is missing, truncated or inconsistent with the manifest."""


class ManifestMismatchError(RagError):
    """The index was built with a different model, dimension or chunking than configured."""


class SchemaVersionError(RagError):
    """The index was written by an incompatible (e.g. newer) version of ragqa."""


class IndexLockedError(RagError):
    """Another process is writing this index."""


class MissingDependencyError(RagError, ImportError):
    """An optional package is needed; the message says how to install it."""


class GeneratorError(RagError):
    """A language-model backend failed (down, timed out, or returned garbage)."""


class GoldFileError(RagError, ValueError):
    """A gold Q&A file has a malformed line."""


class IndexDirError(RagError):
    """A folder cannot hold an index: it is a file, not ragqa's, or cannot be created or written."""


class DocumentNotFoundError(RagError, LookupError):
    """No document with that id in the index."""


class AnswerCancelled(RagError):
    """The caller cancelled an answer in progress (``Assistant.ask(..., cancel=event)``)."""
