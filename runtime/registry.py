"""Which bundle a name means: the model shipped inside postag, installed model packages,
bundle directories.

    resolve_bundle(None)                  # $POSTAG_BUNDLE if set, else the shipped default
    resolve_bundle("artifacts/postag-en-ewt")   # an existing directory: that bundle
    resolve_bundle("en-ewt")              # an installed model's name
    installed_models()                    # every model a name can reach (`postag models`)

**Resolution order** (``Tagger.load``, ``--model``/``--bundle``, ``postag info``,
``postag serve``): an existing directory is that bundle; otherwise the text is a model
name, looked up among the installed model packages (entry-point group
:data:`ENTRY_POINT_GROUP`, built with ``postag package``), then the model shipped inside
postag (:data:`SHIPPED_NAME`). No argument: ``POSTAG_BUNDLE`` (itself a directory or a
name) if set, else the shipped model. Names compare without case, ``_`` as ``-`` and an
optional ``postag-`` prefix: ``en-ewt``, ``en_ewt`` and ``postag-en-ewt`` are one name.
Anything else is a :class:`~postag.errors.BundleError` saying how to get a model.

**Names that resolve to nothing** are a :class:`~postag.errors.BundleError`, never another
exception and never the default: an empty (or blank) name — ``--model ""``, often an
unset shell variable, or ``Tagger.load("")`` — is refused (no argument at all, ``None``,
is what means the default); a name the file system cannot take (too long, a NUL, a
directory that cannot be searched) says why in one line. An empty or blank
``POSTAG_BUNDLE`` counts as unset. Messages show at most :data:`SHOWN_CHARS` characters
of a name, control characters escaped.

A model package's entry point names a function that returns its bundle directory;
listing or resolving a name imports the package (a module of two lines that
``postag package`` writes), never the bundle's models.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BundleError
from .layout import MANIFEST

#: The entry-point group model packages register their bundle under.
ENTRY_POINT_GROUP = "postag.models"
#: The model shipped inside the runtime package (``make default-model`` writes it).
SHIPPED_NAME = "en-ewt"
SHIPPED_DIR = Path(__file__).resolve().parent / "models" / SHIPPED_NAME
#: The environment variable that names the default bundle (a directory or a name).
ENV = "POSTAG_BUNDLE"
#: Error messages show at most this many characters of a name (and how many it has).
SHOWN_CHARS = 80
#: How to get a model, for every "no such model" message.
HOW_TO_GET = (
    f"To get one: pass a bundle directory (--bundle DIR, or set {ENV}=DIR), make one with "
    "`make export` (artifacts/postag-en-ewt), or install a model package (`postag package "
    "BUNDLE --out dist/`, then `pip install dist/postag_<name>-<version>-py3-none-any.whl`); "
    "`postag models` lists the installed ones"
)


@dataclass
class InstalledModel:
    """A model a name can reach: a package's or the shipped one."""

    name: str
    path: Path | None  # None: the package's entry point failed (``error`` says why)
    source: str  # "shipped with postag 0.1.0" or "package postag-en-ewt 1.0.0"
    version: str | None = None  # the package's version (shipped: the bundle's)
    error: str | None = None


def canonical_name(name: str) -> str:
    """A model name compared as ``en-ewt``: lower case, ``_`` as ``-``, no ``postag-``."""
    key = name.strip().lower().replace("_", "-")
    return key.removeprefix("postag-")


def shipped_model() -> InstalledModel:
    from . import __version__

    return InstalledModel(
        SHIPPED_NAME, SHIPPED_DIR, f"shipped with postag {__version__}", _bundle_version()
    )


def _bundle_version(root: Path = SHIPPED_DIR) -> str | None:
    try:
        version = json.loads((root / MANIFEST).read_text("utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def package_models() -> list[InstalledModel]:
    """The models installed packages register (entry-point group ``postag.models``); a
    package whose entry point fails is listed with the error."""
    from importlib.metadata import entry_points

    out = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        source = f"package {dist.name} {dist.version}" if dist else f"entry point {ep.value}"
        model = InstalledModel(ep.name, None, source, dist.version if dist else None)
        try:
            model.path = Path(ep.load()())
        except Exception as exc:  # a broken package is reported, never fatal to listing
            model.error = f"its entry point {ep.value} failed: {type(exc).__name__}: {exc}"
        out.append(model)
    return sorted(out, key=lambda m: m.name)


def installed_models() -> list[InstalledModel]:
    """Every model a name can reach: installed packages, then the shipped one."""
    return [*package_models(), shipped_model()]


def find_model(name: str) -> InstalledModel | None:
    """The installed model called ``name`` (packages before the shipped one), or None."""
    key = canonical_name(name)
    for model in installed_models():
        if canonical_name(model.name) == key:
            if model.error:
                raise BundleError(f"model {name!r}: {model.error}")
            return model
    return None


@dataclass(frozen=True)
class Resolved:
    """A bundle directory and how it was found (for `postag info`)."""

    path: Path
    origin: str  # "a directory", "the installed model en-ewt (package …)", …


def resolve(spec: str | Path | None = None) -> Resolved:
    """The bundle directory ``spec`` means, and how (see the module docstring)."""
    via = ""
    if spec is None:
        spec = os.environ.get(ENV, "")
        if not spec.strip():  # unset, empty or blank: the default
            return Resolved(_shipped_dir(), "the model shipped with postag (the default)")
        via = f" (from {ENV})"
    elif isinstance(spec, str) and not spec.strip():
        raise BundleError(
            f"an empty model name ({spec!r}; an unset variable?): give a bundle directory "
            "or an installed model's name, or none at all for the default "
            f"(${ENV}, else the model shipped with postag)"
        )
    text = str(spec)
    path = Path(spec)
    try:
        is_dir = path.is_dir()
    except (OSError, ValueError) as exc:  # too long, a NUL, a directory not searchable
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BundleError(f"{shown(text)}{via}: cannot be a bundle directory ({reason})") from None
    if is_dir:
        return Resolved(path, f"a bundle directory{via.replace(' (', ', ').rstrip(')')}")
    if _is_name(text):
        model = find_model(text)
        if model is not None and model.path is not None:
            return Resolved(model.path, f"the installed model {model.name} ({model.source}){via}")
    raise BundleError(not_found(text, via))


def shown(name: str) -> str:
    """``name`` as a message shows it: one line (control and other unprintable characters
    escaped), at most :data:`SHOWN_CHARS` characters and then how many it has."""
    text = name if name.isprintable() else name.encode("unicode_escape").decode("ascii")
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}… ({len(name):,} characters)"


def resolve_bundle(spec: str | Path | None = None) -> Path:
    """The bundle directory ``spec`` means (see the module docstring)."""
    return resolve(spec).path


def _shipped_dir() -> Path:
    if not (SHIPPED_DIR / MANIFEST).is_file():
        raise BundleError(
            f"the model shipped with postag is missing ({SHIPPED_DIR}: this installation "
            f"lacks its package data). {HOW_TO_GET}"
        )
    return SHIPPED_DIR


def _is_name(text: str) -> bool:
    """A model name: letters, digits, ``-``, ``_``, ``.`` (no path separator)."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", text) is not None and text not in ("..",)


def not_found(spec: str, origin: str = "") -> str:
    """The message for a bundle that is neither a directory nor an installed name."""
    names = ", ".join(m.name for m in installed_models() if m.path is not None)
    return (
        f"{shown(spec)}{origin}: not a bundle directory, nor the name of an installed model "
        f"(installed: {names or 'none'}). {HOW_TO_GET}"
    )


@dataclass(frozen=True)
class DataLicense:
    """The license of a training corpus, which a model trained on it carries."""

    spdx: str
    name: str
    url: str
    attribution: str


#: Corpus name prefix (the manifest's ``corpus.name``) → its license.
DATA_LICENSES = {
    "UD_English-EWT": DataLicense(
        "CC-BY-SA-4.0",
        "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)",
        "https://creativecommons.org/licenses/by-sa/4.0/",
        "Universal Dependencies English Web Treebank (UD_English-EWT, "
        "https://github.com/UniversalDependencies/UD_English-EWT), from the English Web "
        "Treebank (LDC2012T13); Natalia Silveira, Timothy Dozat, Marie-Catherine de "
        "Marneffe, Samuel Bowman, Miriam Connor, John Bauer and Christopher D. Manning. "
        "2014. A Gold Standard Dependency Corpus for English. In Proceedings of LREC 2014.",
    ),
    "UD_French-Sequoia": DataLicense(
        "LGPL-LR",
        "Lesser General Public License For Linguistic Resources (LGPL-LR)",
        "https://github.com/UniversalDependencies/UD_French-Sequoia/blob/master/LICENSE.txt",
        "Universal Dependencies French Sequoia (UD_French-Sequoia, "
        "https://github.com/UniversalDependencies/UD_French-Sequoia), converted from "
        "SUD_French-Sequoia and the French Sequoia corpus (http://deep-sequoia.inria.fr).",
    ),
}


def data_license(corpus_name: str | None) -> DataLicense | None:
    """The license of the corpus a bundle was trained on (None: not known to postag)."""
    for prefix, lic in DATA_LICENSES.items():
        if (corpus_name or "").startswith(prefix):
            return lic
    return None
