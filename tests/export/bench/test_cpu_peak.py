"""postag.export.bench.cpu_peak: the CPU's peak read from /proc/cpuinfo and cpufreq (a
fake root here), the widest vector unit onnxruntime would use, and the arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from postag.export.bench.cpu_peak import cpu_peak


def fake_root(tmp_path: Path, flags: str, mhz: float | None, max_khz: int | None) -> Path:
    (tmp_path / "proc").mkdir()
    cpus = "".join(
        f"processor\t: {i}\nmodel name\t: Test CPU\n"
        + (f"cpu MHz\t\t: {mhz + i}\n" if mhz else "")
        + f"flags\t\t: {flags}\n\n"
        for i in range(2)
    )
    (tmp_path / "proc" / "cpuinfo").write_text(cpus)
    if max_khz:
        for i in range(2):
            d = tmp_path / "sys" / "devices" / "system" / "cpu" / f"cpu{i}" / "cpufreq"
            d.mkdir(parents=True)
            (d / "cpuinfo_max_freq").write_text(f"{max_khz - 1000 * i}\n")
    return tmp_path


@pytest.mark.parametrize(
    ("flags", "unit", "per_cycle"),
    [
        ("fpu sse2 avx avx2 fma avx512f", "AVX-512F", 64),
        ("fpu sse2 avx avx2 fma", "AVX2+FMA", 32),
        ("fpu sse2 avx avx2", "SSE2", 16),  # AVX2 without FMA: MLAS falls back
        ("fpu sse2", "SSE2", 16),
    ],
)
def test_the_widest_unit_sets_flop_per_cycle(tmp_path, flags, unit, per_cycle):
    peak = cpu_peak(threads=2, root=fake_root(tmp_path, flags, 2000.0, None))
    assert (peak.unit, peak.flop_per_cycle) == (unit, per_cycle)
    assert peak.clock_source == "/proc/cpuinfo cpu MHz" and peak.ghz == pytest.approx(2.001)
    assert peak.gflops == pytest.approx(2 * 2.001 * per_cycle)


def test_cpufreq_max_wins_over_the_current_clock(tmp_path):
    peak = cpu_peak(threads=4, root=fake_root(tmp_path, "sse2 avx2 fma", 1500.0, 3_500_000))
    assert (peak.ghz, peak.clock_source, peak.cores) == (3.5, "cpufreq max", 4)
    assert peak.gflops == pytest.approx(4 * 3.5 * 32)
    assert "= 448.0 GFLOP/s" in peak.line()


def test_unreadable_machine_gives_none(tmp_path):
    (tmp_path / "proc").mkdir()
    assert cpu_peak(root=tmp_path) is None
