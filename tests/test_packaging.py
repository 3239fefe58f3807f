"""The wheel, built from this checkout as pip would: every module of both package dirs is
in it and imports from it, the shipped model's files are there, no tests and no artifacts
are, and it stays within its size budget. setuptools discovers the packages (setup.py),
so a new subpackage cannot be forgotten; this test is what proves it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

#: The wheel's budget: the code plus the shipped model (about 9 MB of it, compressed).
MAX_WHEEL_BYTES = 12_000_000
#: Package dir → the import prefix its modules get.
PACKAGE_DIRS = {"runtime": "postag", "export": "postag.export"}


def expected_modules() -> dict[str, str]:
    """Every module of the two package dirs: wheel path → import name."""
    out = {}
    for folder, prefix in PACKAGE_DIRS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO / folder)
            if folder == "runtime" and rel.parts[0] == "models":
                continue
            parts = [*prefix.split("."), *rel.with_suffix("").parts]
            wheel_path = "/".join(parts) + ".py"
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[wheel_path] = name
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(REPO)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (whl,) = out.glob("postag-*.whl")
    return whl


def test_every_module_is_in_the_wheel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in expected_modules() if p not in names]
    assert not missing, f"modules left out of the wheel: {missing}"


def test_the_shipped_model_is_in_the_wheel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = REPO / "runtime" / "models"
    files = [p.relative_to(shipped).as_posix() for p in shipped.rglob("*") if p.is_file()]
    assert files, "no shipped model in runtime/models"
    missing = [f for f in files if f"postag/models/{f}" not in names]
    assert not missing, f"shipped model files left out of the wheel: {missing}"


def test_no_tests_artifacts_or_setup_in_the_wheel(wheel):
    bad = [
        n
        for n in zipfile.ZipFile(wheel).namelist()
        if n.startswith(("tests/", "artifacts/", "docs/", "setup.py"))
        or "/tests/" in n
        or "__pycache__" in n
        or n.endswith((".pt", ".conllu"))
    ]
    assert not bad, bad


def test_the_wheel_is_within_its_budget(wheel):
    size = wheel.stat().st_size
    assert size <= MAX_WHEEL_BYTES, f"wheel {size / 1e6:.2f} MB > {MAX_WHEEL_BYTES / 1e6:.0f} MB"


def test_every_module_imports_from_the_wheel(wheel, tmp_path):
    """Unpacked on its own and first on sys.path: each module imports from there (not
    from this checkout), with the extras of the dev environment installed."""
    root = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(root)
    names = sorted(set(expected_modules().values()))
    code = (
        "import importlib, sys\n"
        f"names = {names!r}\n"
        "bad = []\n"
        "for n in names:\n"
        "    m = importlib.import_module(n)\n"
        f"    if not m.__file__.startswith({str(root)!r}): bad.append((n, m.__file__))\n"
        "print(len(names), bad)\n"
    )
    env_path = str(root)
    got = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": env_path, "PATH": ""},
    )  # fmt: skip
    assert got.returncode == 0, got.stderr[-3000:]
    assert got.stdout.strip() == f"{len(names)} []", got.stdout
