"""Typed errors. Every user-facing failure is one of these; the CLI turns them into a
clear message and a non-zero exit instead of a traceback."""


class PostagError(Exception):
    """Base class of every error postag raises on purpose."""


class CorpusError(PostagError):
    """A corpus file is missing, unreadable, not UTF-8, or not valid CoNLL-U."""


class VocabError(PostagError):
    """A vocabulary file is malformed (wrong specials, duplicates, not a JSON list)."""


class ConfigError(PostagError):
    """A configuration does not match the dataclass it should round-trip into."""


class BundleError(PostagError):
    """A bundle is incomplete, tampered with, or of an unsupported format."""


class ParityError(PostagError):
    """An export disagrees with the PyTorch original beyond the declared tolerance."""
