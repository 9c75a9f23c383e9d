"""The benchmarks under bench/ run, at a tiny size, so they do not rot
(their figures are not checked here: see bench/README.md)."""
import pytest

from bench import fanout, tick, workers


def test_fanout_bench_runs():
    r = fanout.measure(n=40, seq_n=3, latency_ms=5, db="sqlite", naive_n=10, quiet=True, processes=(0, 2))
    assert r["a"] > 0 and r["b"] > 0 and r["c_sqlite"] > 0 and r["c_sqlite_p2"] > 0
    assert r["c_latency_sqlite"] > 0


def test_tick_bench_runs():
    r = tick.measure(subs=200, burst=40, db="sqlite", quiet=True, ticks=3)
    assert r["sqlite"]["count"] == 40 and r["sqlite"]["distinct"] == 40


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)
def test_workers_bench_runs(storage, postgres_url):
    r = workers.measure(burst=60, pg_url=postgres_url, quiet=True, counts=(2,))
    assert r[2]["count"] == 60 and r[2]["distinct"] == 60 and r[2]["repeats"] == 0
