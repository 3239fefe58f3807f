"""This CPU's peak float32 rate, read from the machine: the roofline's denominator.

    python -m postag.export.bench.cpu_peak          # prints the peak and how it was read

peak = cores × clock × FLOP per cycle per core, where

* cores: the threads the benchmark uses (``--threads``), else the CPUs this process may
  run on (``os.sched_getaffinity``);
* clock: the highest maximum frequency in ``/sys/devices/system/cpu/cpu*/cpufreq/
  cpuinfo_max_freq``, else the highest ``cpu MHz`` of ``/proc/cpuinfo`` (a VM usually
  exposes only this: its current clock, which turbo can exceed);
* FLOP per cycle: the widest vector unit onnxruntime's MLAS kernels use on this CPU (its
  dispatch picks AVX-512F where ``/proc/cpuinfo`` lists ``avx512f``, else AVX2 with FMA,
  else SSE), as lanes × 2 (a fused multiply-add is two FLOPs) × 2 FMA pipes per core.

Two pipes per core is what current x86 server cores have (some execute a 512-bit op as two
256-bit halves, so the true AVX-512 rate can be half of this): the number is an upper bound
by construction, which a model can approach but not beat, unlike the measured GEMM rate
(``bench.suite.matmul_gflops``), kept beside it as the practical ceiling.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

#: (flag that enables it, name, float32 lanes) from widest to narrowest.
VECTOR_UNITS = (("avx512f", "AVX-512F", 16), ("avx2", "AVX2+FMA", 8), ("sse2", "SSE2", 4))
FMA_PIPES = 2


@dataclass(frozen=True)
class CpuPeak:
    cores: int
    ghz: float
    clock_source: str
    unit: str
    flop_per_cycle: int
    gflops: float

    def line(self) -> str:
        return (
            f"{self.cores} cores × {self.ghz:.2f} GHz ({self.clock_source}) × "
            f"{self.flop_per_cycle} FLOP/cycle ({self.unit}: lanes × 2 × {FMA_PIPES} FMA pipes)"
            f" = {self.gflops:.1f} GFLOP/s"
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _cpuinfo(root: Path) -> tuple[set[str], float | None]:
    """The CPU flags and the highest ``cpu MHz`` of ``/proc/cpuinfo``."""
    flags: set[str] = set()
    mhz: float | None = None
    try:
        text = (root / "proc" / "cpuinfo").read_text()
    except OSError:
        return flags, mhz
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "flags":
            flags |= set(value.split())
        elif key == "cpu MHz":
            try:
                mhz = max(mhz or 0.0, float(value))
            except ValueError:
                pass
    return flags, mhz


def _max_freq_ghz(root: Path) -> float | None:
    """The highest ``cpuinfo_max_freq`` (kHz) over the CPUs, in GHz."""
    best = None
    for f in (root / "sys" / "devices" / "system" / "cpu").glob("cpu*/cpufreq/cpuinfo_max_freq"):
        try:
            best = max(best or 0.0, int(f.read_text()) / 1e6)
        except (OSError, ValueError):
            continue
    return best


def cpu_peak(threads: int = 0, root: Path = Path("/")) -> CpuPeak | None:
    """This machine's peak float32 GFLOP/s (see the module docstring); None where the
    clock or the vector unit cannot be read (not Linux)."""
    flags, mhz = _cpuinfo(root)
    ghz, source = _max_freq_ghz(root), "cpufreq max"
    if ghz is None and mhz:
        ghz, source = mhz / 1000, "/proc/cpuinfo cpu MHz"
    unit = next(
        ((name, lanes) for flag, name, lanes in VECTOR_UNITS if flag in flags and
         (flag != "avx2" or "fma" in flags)),
        None,
    )  # fmt: skip
    if ghz is None or unit is None:
        return None
    cores = threads or len(os.sched_getaffinity(0))
    per_cycle = unit[1] * 2 * FMA_PIPES
    return CpuPeak(cores, ghz, source, unit[0], per_cycle, cores * ghz * per_cycle)


if __name__ == "__main__":
    peak = cpu_peak()
    print(peak.line() if peak else "the CPU's clock or vector unit could not be read")
