"""Package discovery for the two package dirs of pyproject.toml's ``package-dir``.

setuptools' own ``packages.find`` cannot map one folder to a dotted prefix, so this file
finds every package under ``runtime/`` (→ ``postag.*``) and ``export/`` (→
``postag.export.*``); everything else is declared in pyproject.toml. A new subpackage is
picked up without editing a list (tests/test_packaging.py builds the wheel and checks).
"""

from setuptools import find_packages, setup

runtime = [f"postag.{name}" for name in find_packages("runtime")]
export = [f"postag.export.{name}" for name in find_packages("export")]
setup(packages=["postag", "postag.models", *runtime, "postag.export", *export])
