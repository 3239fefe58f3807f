"""The language a postag model tags, read from its manifest (no spaCy needed here).

    model_language(manifest.data)      # ModelLanguage("en", "its training corpus UD_English-EWT …")

A bundle's manifest has no language field of its own (format 2); what records the language
is the training corpus (``corpus``): its name, which for Universal Dependencies treebanks
is ``UD_<Language>-<Treebank>`` (``UD_English-EWT r2.16``, ``UD_French-Sequoia``), and its
files, which UD names ``<code>_<treebank>-ud-<split>.conllu`` (``en_ewt-ud-train.conllu``).
The order:

1. a ``language`` field in the manifest (an ISO 639 code), should a bundle carry one;
2. the UD language name in ``corpus.name``, through :data:`UD_LANGUAGES` (ISO 639-1
   where there is one, as spaCy names its languages);
3. the code that starts the UD file names in ``corpus.files`` (every split's the same): a
   corpus postag does not know by name (``"custom"``) keeps UD's file names;
4. otherwise the language is unknown (``code`` is None) and ``where`` says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: UD language names (the ``<Language>`` of ``UD_<Language>-<Treebank>``) → the ISO 639
#: code spaCy uses for that language. Norwegian is per treebank (:data:`UD_TREEBANKS`).
UD_LANGUAGES = {
    "Afrikaans": "af",
    "Ancient_Greek": "grc",
    "Arabic": "ar",
    "Armenian": "hy",
    "Basque": "eu",
    "Belarusian": "be",
    "Bulgarian": "bg",
    "Catalan": "ca",
    "Chinese": "zh",
    "Classical_Chinese": "lzh",
    "Croatian": "hr",
    "Czech": "cs",
    "Danish": "da",
    "Dutch": "nl",
    "English": "en",
    "Estonian": "et",
    "Faroese": "fo",
    "Finnish": "fi",
    "French": "fr",
    "Galician": "gl",
    "German": "de",
    "Greek": "el",
    "Hebrew": "he",
    "Hindi": "hi",
    "Hungarian": "hu",
    "Icelandic": "is",
    "Indonesian": "id",
    "Irish": "ga",
    "Italian": "it",
    "Japanese": "ja",
    "Korean": "ko",
    "Latin": "la",
    "Latvian": "lv",
    "Lithuanian": "lt",
    "Macedonian": "mk",
    "Maltese": "mt",
    "Marathi": "mr",
    "Persian": "fa",
    "Polish": "pl",
    "Portuguese": "pt",
    "Romanian": "ro",
    "Russian": "ru",
    "Sanskrit": "sa",
    "Serbian": "sr",
    "Slovak": "sk",
    "Slovenian": "sl",
    "Spanish": "es",
    "Swedish": "sv",
    "Tagalog": "tl",
    "Tamil": "ta",
    "Telugu": "te",
    "Thai": "th",
    "Turkish": "tr",
    "Ukrainian": "uk",
    "Urdu": "ur",
    "Vietnamese": "vi",
    "Welsh": "cy",
    "Yoruba": "yo",
}
#: Treebanks whose language code is not their language name's: UD's Norwegian.
UD_TREEBANKS = {("Norwegian", "Bokmaal"): "nb", ("Norwegian", "Nynorsk"): "nn"}

_UD_NAME = re.compile(r"UD_([A-Za-z_]+)-([A-Za-z0-9_]+)")
_UD_FILE = re.compile(r"([a-z]{2,3})_[a-z0-9]+-ud-[a-z]+\.conllu")
_CODE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class ModelLanguage:
    """A model's language: ``code`` (ISO 639, None when unknown) and where it was read."""

    code: str | None
    where: str


def model_language(manifest: Mapping[str, Any]) -> ModelLanguage:
    """The language of the model whose manifest (raw JSON) is ``manifest`` (see the module
    docstring for the order)."""
    stated = manifest.get("language")
    if isinstance(stated, str) and _CODE.fullmatch(stated.strip().lower()):
        return ModelLanguage(stated.strip().lower(), "the manifest's 'language' field")
    corpus = manifest.get("corpus")
    if not isinstance(corpus, Mapping):
        return ModelLanguage(None, "its manifest records no language and no training corpus")
    name = corpus.get("name")
    name = name if isinstance(name, str) and name else "(unnamed)"
    m = _UD_NAME.match(name)
    if m is not None:
        ud_lang, treebank = m.groups()
        code = UD_TREEBANKS.get((ud_lang, treebank)) or UD_LANGUAGES.get(ud_lang)
        if code is not None:
            return ModelLanguage(code, f"its training corpus {name}")
    codes, files = set(), []
    entries = corpus.get("files")
    for entry in entries.values() if isinstance(entries, Mapping) else ():
        file = entry.get("file") if isinstance(entry, Mapping) else None
        if isinstance(file, str):
            files.append(file)
            codes.add(f.group(1) if (f := _UD_FILE.fullmatch(file)) else None)
    if len(codes) == 1 and None not in codes:
        return ModelLanguage(codes.pop(), f"the files of its training corpus ({', '.join(files)})")
    return ModelLanguage(
        None,
        f"its training corpus ({name}; files {', '.join(files) or 'not recorded'}) is named "
        "neither UD_<Language>-<Treebank> (a language postag knows) nor "
        "<code>_<treebank>-ud-<split>.conllu",
    )
