"""postag as a spaCy pipeline component (the ``spacy`` extra: ``pip install 'postag[spacy]'``).

    import spacy
    nlp = spacy.blank("en")
    nlp.add_pipe("postag")          # found through the spacy_factories entry point
    doc = nlp("I don't know.")
    [(t.text, t.pos_, t.tag_, str(t.morph), t._.postag_pos_prob) for t in doc]

* :mod:`.component` — the factory :func:`make_postag` and :class:`PostagComponent`
  (what it sets, whitespace tokens, sentences, the language check, serialization);
* :mod:`.language`  — the language a model tags, read from its manifest;
* :mod:`.bench`     — words/s of the component vs ``Tagger.tag_batch`` alone
  (``python -m postag.spacy.bench``).

Nothing else in postag imports this package; importing it imports spaCy (which imports it
in turn whenever a pipeline is made, through the entry point), but not onnxruntime: the
model is loaded when a component is made.
"""

from .component import PostagComponent, make_postag
from .language import ModelLanguage, model_language

__all__ = ["ModelLanguage", "PostagComponent", "make_postag", "model_language"]
