"""postag runtime: tag text with an exported bundle using onnxruntime + numpy (no torch).

from postag import Tagger
Tagger.load().tag_text("I don't know.")                    # the model shipped with postag
Tagger.load("artifacts/postag-en-ewt").tag_text("Hi.")     # a bundle directory
Tagger.load("en-ewt")                                      # an installed model package
"""

from typing import Any

from .errors import BundleError, PostagError

__version__ = "0.1.0"
__all__ = ["BundleError", "PostagError", "TaggedSentence", "Tagger", "__version__"]


def __getattr__(name: str) -> Any:  # lazy: importing postag does not load onnxruntime
    if name in ("Tagger", "TaggedSentence"):
        from . import tagger

        return getattr(tagger, name)
    raise AttributeError(f"module 'postag' has no attribute {name!r}")
