"""The file to hand to ``spark-submit``: any ``postag`` command line, run in the driver.

spark-submit takes a Python *file* and runs it as a script, outside its package, where
the relative imports of postag's own modules fail ("attempted relative import with no
known parent package"). This file imports postag absolutely::

    SUBMIT="$(python -c 'import postag.spark.submit as m; print(m.__file__)')"
    spark-submit --master yarn --archives tagenv.tar.gz#tagenv "$SUBMIT" \\
        spark-tag --master submit artifacts/postag-en-ewt hdfs:///corpus/docs.jsonl /shared/out

``spark-tag --master submit`` takes the master from spark-submit. Importing this module
runs nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path


def without_own_folder(path: list[str], folder: Path) -> list[str]:
    """``sys.path`` minus ``folder``: run as a script, this file's folder comes first on
    the path, and its modules (``job``, ``bench``, ``dataframe``) would shadow top-level
    modules of those names."""
    return [p for p in path if Path(p or ".").resolve() != folder]


def main() -> None:
    """``postag`` with the command line spark-submit passes after this file's path."""
    from postag.cli import cli

    cli(prog_name="postag")


if __name__ == "__main__":
    sys.path[:] = without_own_folder(sys.path, Path(__file__).resolve().parent)
    main()
