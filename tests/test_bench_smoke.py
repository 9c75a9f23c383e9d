"""The benchmarks under bench/ run, at a tiny size, so they do not rot
(their figures are not checked here: see bench/README.md)."""
import shutil
import subprocess

import pytest

from bench import budget, claims, fanout, peer, schemas, sender, tick, workers


def test_fanout_bench_runs():
    r = fanout.measure(n=40, seq_n=3, latency_ms=5, db="sqlite", naive_n=10, quiet=True, processes=(None, 0))
    assert r["a"] > 0 and r["b"] > 0 and r["c_sqlite"] > 0 and r["c_sqlite_p0"] > 0
    assert r["c_latency_sqlite"] > 0 and r["c_latency_sqlite_limit"] > 0


def test_fanout_fit_finds_the_steady_ratio_and_the_fixed_cost():
    # Passes that pay 900 messages' worth of (b) whatever their size, and run at 0.9 of (b) otherwise.
    points = [(n, n / (n / 0.9 + 900)) for n in (3000, 5000, 20000)]
    steady, fixed = fanout.fixed_and_steady(points)
    assert steady == pytest.approx(0.9) and fixed == pytest.approx(900)


def test_fanout_fit_is_least_squares_over_every_size():
    points = [(3000, 0.70), (5000, 0.80), (10000, 0.79), (20000, 0.83)]
    steady, fixed = fanout.fixed_and_steady(points)
    # The normal equations: the residuals of 1 / ratio against 1 / N sum to
    # nothing, and so do they weighted by 1 / N (a line through two of the
    # points, or a fit of another quantity, leaves them apart from 0).
    residuals = [(1 / r - (1 / steady + fixed / n), 1 / n) for n, r in points]
    assert sum(e for e, _ in residuals) == pytest.approx(0, abs=1e-12)
    assert sum(e * x for e, x in residuals) == pytest.approx(0, abs=1e-15)
    assert 0.8 < steady < 0.9 and fixed > 0


def test_fanout_bench_prints_the_fit_over_several_sizes(monkeypatch, capsys):
    def measure(n, *args, **kwargs):  # passes at 0.9 of (b) 8,000 msg/s, plus 800 messages' worth
        rate = 8000 * n / (n / 0.9 + 800)
        return {"c_latency_sqlite": rate, "c_latency_sqlite_limit": 8000.0}

    monkeypatch.setattr(fanout, "measure", measure)
    fanout.main(["--n", "3000,5000,20000", "--db", "sqlite"])
    out = capsys.readouterr().out
    assert "fitted over N = 3,000, 5,000, 20,000 at 50 ms" in out
    assert "sqlite, defaults: steady R = 90 % of (b), fixed F = 800 messages = 100 ms at (b) 8,000 msg/s" in out


def test_fanout_bench_runs_several_sizes(capsys):
    fanout.main(["--n", "30,60", "--naive-n", "3", "--seq-n", "2", "--latency-ms", "5", "--db", "sqlite",
                 "--repeat", "1"])
    out = capsys.readouterr().out
    assert out.count("fan-out of N =") == 2
    assert "fitted over N = 30, 60 at 5 ms" in out and "  sqlite, defaults: " in out


@pytest.mark.parametrize("sizes", ["3,000", "5000,", "0,5000", "x"])
def test_fanout_bench_refuses_sizes_that_are_not_counts(sizes):
    with pytest.raises(SystemExit):
        fanout.main(["--n", sizes])


def test_budget_bench_runs():
    (row,) = budget.measure(n=200, latency_ms=5, db="sqlite", passes=1, quiet=True)
    assert row["rate"] > 0 and row["crypto_us"] > 0 and row["whole_us"] > 0 and 0 <= row["busy"] <= 1
    assert row["dispatching_us"] > 0 and row["series"]
    assert sum(row["sent_series"]) == 200 and row["first_ms"] >= 0 and row["tail_ms"] >= 0
    assert row["steady_ratio"] > 0


def test_sender_bench_runs():
    r = sender.measure(batches=1, latency_ms=5, rounds=1, quiet=True)
    assert r["alone"][0]["rate"] > 0 and r["in_process"][0]["beyond_us"] > 0
    assert 0 < r["parsing"]["quick_us"] < r["parsing"]["general_us"]
    stand_in, listener = r["writes"]["stand-in"], r["writes"]["listener"]
    for w in (stand_in, listener):
        assert len(w["each"]) == len(w["grouped"]) == 1 and w["sent"] == 2 * 500
    assert stand_in["answered"] == stand_in["sent"]  # every request whole and well-formed
    assert listener["answered"] == 0


def test_claims_bench_runs():
    (row,) = claims.measure(n=600, db="sqlite", rounds=1, quiet=True)
    assert row["claim_wall"] > 0 and row["apply_wall"] > 0


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)
def test_claims_bench_runs_on_postgresql(storage, postgres_url):
    (row,) = claims.measure(n=600, db="postgresql", rounds=1, quiet=True, pg_url=postgres_url, fillfactor=100,
                            water_days=2)
    assert row["db"] == "postgresql" and row["claim_wall"] > 0 and row["apply_wall"] > 0


@pytest.mark.skipif(shutil.which("node") is None, reason="bench/peer.py runs Node's web-push")
def test_peer_bench_runs():
    r = peer.measure(n=30, naive_n=3, db="sqlite", quiet=True, lanes=5)
    assert r["node_seq"] > 0 and r["node_par"] > 0 and r["naive"] > 0 and r["unknot"] > 0


def test_tick_bench_runs():
    r = tick.measure(subs=200, burst=40, db="sqlite", quiet=True, ticks=3)
    assert r["sqlite"]["count"] == 40 and r["sqlite"]["distinct"] == 40
    assert r["sqlite"]["rss_mb"] > 0


@pytest.mark.parametrize("storage", ["postgresql"], indirect=True)
def test_workers_bench_runs(storage, postgres_url):
    r = workers.measure(burst=60, pg_url=postgres_url, quiet=True, counts=(2,))
    assert r[2]["count"] == 60 and r[2]["distinct"] == 60 and r[2]["repeats"] == 0


def _has_old_validator():
    ref = schemas.OLD.split(":")[0]
    return subprocess.run(["git", "-C", str(schemas.ROOT), "cat-file", "-e", ref], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_old_validator(), reason="bench/schemas.py reads the old validator from git history")
def test_schemas_bench_runs(capsys):
    schemas.main(["--rounds", "50"])
    out = capsys.readouterr().out
    assert "old hand validator, a valid plan" in out and "jsonschema-rs" in out
