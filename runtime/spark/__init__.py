"""Bulk tagging on Apache Spark (the ``spark`` extra: PySpark, Java 17).

* :mod:`.dataframe` — :func:`tag_dataframe`: add ``tokens`` and one column per head
  (``upos``; ``xpos``, ``feats`` for a joint tagger) to a DataFrame;
* :mod:`.job`       — :func:`run_spark_job`: read, tag, write, commit (`postag spark-tag`);
* :mod:`.bench`     — Spark scaling vs one runtime process (`postag spark-bench`).

Importing this package does not import PySpark; the functions do.
"""

from .dataframe import SparkTagStats, output_columns, tag_dataframe, task_threads
from .job import SparkJobError, SparkJobResult, run_spark_job, spark_session

__all__ = [
    "SparkJobError",
    "SparkJobResult",
    "SparkTagStats",
    "output_columns",
    "run_spark_job",
    "spark_session",
    "tag_dataframe",
    "task_threads",
]
