"""Model packages, spaCy's way: a bundle as a pip-installable wheel that registers it
under the entry-point group ``postag.models``, so ``Tagger.load("en-ewt")``,
``postag tag --model en-ewt`` and ``postag models`` find it by name.

    wheel = build_model_wheel("artifacts/postag-en-ewt", "dist/", version="1.0.0")
    # dist/postag_en_ewt-1.0.0-py3-none-any.whl; pip install it, then Tagger.load("en-ewt")

The wheel is written here, without a build backend or the network: a module
``postag_<name>`` whose ``bundle_path()`` returns its ``bundle/`` directory (the bundle's
manifest and every file it lists, checked first), and a ``.dist-info`` with METADATA
(requires this postag or newer), WHEEL, ``entry_points.txt`` and RECORD (sha256 of every
file), as the wheel specification (PEP 427, PEP 376's RECORD) defines them. Files are
sorted and dated 1980-01-01, so the same bundle and options give the same bytes.

Names: the model's name is the bundle's name without ``postag-`` (``postag-en-ewt`` →
``en-ewt``) unless given; the distribution is ``postag-<name>``, the module
``postag_<name>`` (``-`` and ``.`` as ``_``). The version is the bundle's unless given.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .bundle import Manifest, load_manifest
from .contract import HEAD_NAMES
from .errors import BundleError
from .files import atomic_write_bytes
from .layout import MANIFEST
from .registry import ENTRY_POINT_GROUP, canonical_name, data_license

#: A model name: letters and digits, separated by single ``-``, ``_`` or ``.``.
NAME = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)*", re.IGNORECASE)
#: A PEP 440 public version in its usual forms (1.0.0, 2.1rc1, 1.0.post2, 0.3.dev1).
VERSION = re.compile(r"\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?")
#: Every file's date inside the wheel (the zip format's earliest): reproducible bytes.
EPOCH = (1980, 1, 1, 0, 0, 0)

MODULE = '''"""postag model package {dist} {version}: the bundle {bundle} {bundle_version}
(identity {identity}), registered under the entry point group "{group}" as "{name}".

    from postag import Tagger
    tagger = Tagger.load("{name}")      # or: postag tag --model {name}
"""

from pathlib import Path


def bundle_path() -> Path:
    """The bundle directory inside this package."""
    return Path(__file__).resolve().parent / "bundle"
'''


@dataclass(frozen=True)
class PackageName:
    """The names of a model package, derived from the model's name."""

    model: str  # en-ewt: what Tagger.load and --model take
    dist: str  # postag-en-ewt: the distribution (pip install / uninstall)
    module: str  # postag_en_ewt: the import name, and the wheel's file name stem

    @classmethod
    def of(cls, name: str) -> PackageName:
        if not NAME.fullmatch(name):
            raise BundleError(
                f"{name!r}: not a usable model name (letters and digits, separated by "
                "single '-', '_' or '.')"
            )
        model = canonical_name(name)
        if not model:
            raise BundleError(f"{name!r}: not a usable model name (nothing after 'postag-')")
        module = "postag_" + re.sub(r"[-_.]+", "_", model)
        return cls(model, "postag-" + model, module)


def wheel_name(names: PackageName, version: str) -> str:
    """``postag_en_ewt-1.0.0-py3-none-any.whl``."""
    return f"{names.module}-{version}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _metadata(man: Manifest, names: PackageName, version: str, license_: str | None) -> str:
    corpus = (man.data.get("corpus") or {}).get("name")
    lic = license_ or (lic.spdx if (lic := data_license(corpus)) else None)
    heads = ", ".join(HEAD_NAMES[h] for h in man.labels)
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {names.dist}",
        f"Version: {version}",
        f"Summary: postag model {names.model}: {man.name} {man.version} ({heads} tagger"
        + (f", trained on {corpus})" if corpus else ")"),
        "Requires-Python: >=3.11",
        f"Requires-Dist: postag>={__version__}",
    ]
    if lic:
        lines.append(f"License: {lic}")
    return "\n".join(lines) + "\n"


def _dist_info(
    man: Manifest, names: PackageName, version: str, license_: str | None
) -> dict[str, bytes]:
    """The ``.dist-info`` files other than RECORD."""
    return {
        "METADATA": _metadata(man, names, version, license_).encode(),
        "WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: postag {__version__}\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ).encode(),
        "entry_points.txt": (
            f"[{ENTRY_POINT_GROUP}]\n{names.model} = {names.module}:bundle_path\n"
        ).encode(),
        "top_level.txt": f"{names.module}\n".encode(),
    }


def wheel_files(
    man: Manifest, names: PackageName, version: str, license_: str | None
) -> dict[str, bytes]:
    """Every file of the wheel, by its path inside it (RECORD last)."""
    module = MODULE.format(
        dist=names.dist,
        version=version,
        bundle=man.name,
        bundle_version=man.version,
        identity=man.identity[:12] + "…",
        group=ENTRY_POINT_GROUP,
        name=names.model,
    )
    files = {f"{names.module}/__init__.py": module.encode()}
    for name in sorted([*man.files, MANIFEST]):
        files[f"{names.module}/bundle/{name}"] = man.path(name).read_bytes()
    info = f"{names.module}-{version}.dist-info"
    for name, data in _dist_info(man, names, version, license_).items():
        files[f"{info}/{name}"] = data
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    return files


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def build_model_wheel(
    bundle: str | Path,
    out_dir: str | Path,
    name: str | None = None,
    version: str | None = None,
    license_: str | None = None,
) -> Path:
    """Check ``bundle`` (hashes and identity) and write its model package's wheel into
    ``out_dir`` (through a temporary file); returns the wheel's path. ``name``: the
    model's name (default: the bundle's, without ``postag-``); ``version``: the package's
    (default: the bundle's); ``license_``: the METADATA License (default: the training
    corpus's where postag knows it, e.g. CC-BY-SA-4.0 for UD English EWT)."""
    man = load_manifest(bundle)
    names = PackageName.of(name or man.name)
    version = version or man.version
    if not VERSION.fullmatch(version):
        raise BundleError(f"{version!r}: not a package version (e.g. 1.0.0, 1.1rc1, 1.0.post1)")
    data = _zip(wheel_files(man, names, version, license_))
    path = Path(out_dir) / wheel_name(names, version)
    atomic_write_bytes(path, data)
    return path
