"""Unknot against the sender a user would pick instead, over loopback HTTPS,
side by side in one run: the same subscriptions, the same TLS push stand-in
(bench/standin.py with a certificate from a throwaway CA), one after another:

  (1) Node web-push 3.6.7 (bench/peer.js), sequential,
  (2) Node web-push 3.6.7, 50 in flight,
  (3) a naive pywebpush.webpush() loop (a subset; rate extrapolated),
  (4) one Unknot dispatch pass (`reminders dispatch`) with default settings,
      the stand-in's CA given as UNKNOT_PUSH_CA_BUNDLE.

Goal (DESIGN.md): (4) >= 3 x the better of (1) and (2).

    python -m bench.peer                 # N = 3,000
    python -m bench.peer --n 200 --naive-n 10 --db sqlite

Installs web-push into bench/node_modules with npm on first use (as
bench/lighthouse.py does Lighthouse).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import common
from bench.fanout import PAYLOAD, naive, unknot_pass
from bench.standin import StandIn

HERE = Path(__file__).resolve().parent
WEB_PUSH = HERE / "node_modules" / "web-push" / "package.json"
SUBJECT = "mailto:bench@unknot.app"


def ensure_web_push():
    if not WEB_PUSH.exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)
    return json.loads(WEB_PUSH.read_text())["version"]


def node(job_file, mode, ca_bundle):
    """(1)/(2): messages per second of web-push, as node measures it."""
    out = subprocess.run(["node", str(HERE / "peer.js"), str(job_file), mode], check=True, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "NODE_EXTRA_CA_CERTS": ca_bundle},
                         cwd=HERE)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["ok"], result["ok"] / result["seconds"]


def vapid_raw(key_path):
    """web-push's key format: base64url raw private scalar and public point."""
    from webapp.push.vapid import load_or_create_vapid_key, public_key_b64

    key = load_or_create_vapid_key(key_path)
    return common.b64(key.private_numbers().private_value.to_bytes(32, "big")), public_key_b64(key)


def measure(n=3000, naive_n=100, db="postgresql", quiet=False, lanes=50):
    out = print if not quiet else (lambda *a, **k: None)
    from tests.tlspushservice import CA

    version = ensure_web_push()
    backend = db
    results = {}
    with tempfile.TemporaryDirectory(prefix="unknot-peer-") as tmp:
        ca = CA.make(Path(tmp) / "ca")
        with StandIn(tls=ca.server_context("127.0.0.1")) as standin:
            subs = common.subscriptions(standin.origin, n)
            warm = common.subscriptions(standin.origin, min(100, n), prefix="w")
            key_path = os.path.join(tmp, "vapid.pem")
            private, public = vapid_raw(key_path)
            job = Path(tmp) / "job.json"
            job.write_text(json.dumps({"subscriptions": subs, "warm": warm, "payload": PAYLOAD.decode(),
                                       "subject": SUBJECT, "publicKey": public, "privateKey": private}))
            out(f"over loopback HTTPS: N = {n:,}; {os.cpu_count()} CPUs; web-push {version}; "
                f"Unknot on {backend} with default settings")

            for name, mode in (("node_seq", "seq"), ("node_par", str(lanes))):
                standin.reset()
                ok, rate = node(job, mode, ca.bundle)
                assert ok == n and standin.stats()["count"] == n + len(warm), (ok, standin.stats()["count"])
                results[name] = rate
                how = "sequential" if mode == "seq" else f"{lanes} in flight"
                out(f"  (1) Node web-push {version}, {how:<16} {rate:9,.0f} msg/s")

            standin.reset()
            os.environ["REQUESTS_CA_BUNDLE"] = ca.bundle  # pywebpush's requests trusts the stand-in
            try:
                naive(warm, key_path, min(5, n))
                results["naive"] = naive(subs, key_path, min(naive_n, n))
            finally:
                del os.environ["REQUESTS_CA_BUNDLE"]
            out(f"  (2) naive pywebpush.webpush() loop ({min(naive_n, n)} messages, rate extrapolated) "
                f"{results['naive']:7,.1f} msg/s")

            unknot_pass(backend, standin.origin, warm, PUSH_CA_BUNDLE=ca.bundle)  # imports, first handshake
            standin.reset()
            rate, counts = unknot_pass(backend, standin.origin, subs, PUSH_CA_BUNDLE=ca.bundle)
            assert counts == {"ok": n}, counts
            assert standin.stats()["count"] == n
            results["unknot"] = rate
            best = max(results["node_seq"], results["node_par"])
            results["ratio"] = rate / best
            out(f"  (3) Unknot dispatch pass, defaults ({backend})   {rate:9,.0f} msg/s   = "
                f"{rate / best:4.1f} x Node's best, {rate / results['naive']:5.0f} x naive pywebpush   "
                f"[goal >= 3 x Node: {'met' if rate >= 3 * best else 'NOT met'}]")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--naive-n", type=int, default=100, help="messages for the naive pywebpush loop")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args(argv)
    measure(args.n, args.naive_n, args.db)


if __name__ == "__main__":
    sys.exit(main())
