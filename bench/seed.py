#!/usr/bin/env python3
"""Seeds a running Strongroom for bench/run.sh over its REST API (loopback only).

  seed.py --url http://127.0.0.1:PORT --keys KEYS_FILE [--identities 10] [--per 1000]
          [--small 100] [--totp 10] [--backup 64] [--backup-codes 100]

KEYS_FILE has "IDENTITY API_KEY" lines. Creates, with PUT:
  bench0..bench{N-1}: API_KEY credentials c0000.. (--per each)
  small:              --small API_KEY credentials (the list-of-100 case)
  totp:               TOTP credentials t000.. and TOTP credentials b000.. with
                      --backup-codes backup codes each
Uses a pool of keep-alive connections; prints the count and the rate.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32, 160 bits
local = threading.local()


def conn_for(url):
    c = getattr(local, "conn", None)
    if c is None:
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        local.conn = c
    return c


def put(url, key, name, body):
    payload = json.dumps(body).encode()
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    for attempt in range(3):
        c = conn_for(url)
        try:
            c.request("PUT", "/v0/vault/" + name, payload, headers)
            r = c.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                c.close()
                local.conn = None
            if r.status != 200:
                raise RuntimeError("PUT %s: %d %s" % (name, r.status, data[:200]))
            return
        except (http.client.HTTPException, OSError):
            c.close()
            local.conn = None
            if attempt == 2:
                raise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--identities", type=int, default=10)
    ap.add_argument("--per", type=int, default=1000)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--totp", type=int, default=10)
    ap.add_argument("--backup", type=int, default=1000)
    ap.add_argument("--backup-codes", type=int, default=150)
    ap.add_argument("--workers", type=int, default=16)
    args = ap.parse_args()

    keys = {}
    with open(args.keys) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                keys[parts[0]] = parts[1]

    jobs = []
    for i in range(args.identities):
        for n in range(args.per):
            jobs.append(("bench%d" % i, "c%04d" % n,
                         {"type": "API_KEY",
                          "data": {"key": "sk_live_%s" % os.urandom(16).hex()},
                          "metadata": {"service": "stripe", "prefix": "sk_live"}}))
    for n in range(args.small):
        jobs.append(("small", "c%04d" % n,
                     {"type": "API_KEY", "data": {"key": "sk_%s" % os.urandom(16).hex()},
                      "metadata": {"service": "small"}}))
    for n in range(args.totp):
        jobs.append(("totp", "t%03d" % n,
                     {"type": "TOTP", "data": {"secret": SEED, "backupCodes": ["x-1", "x-2"]},
                      "metadata": {"issuer": "bench", "account": "t%03d" % n}}))
    for n in range(args.backup):
        codes = ["%04x-%04x" % (n, k) for k in range(args.backup_codes)]
        jobs.append(("totp", "b%03d" % n,
                     {"type": "TOTP", "data": {"secret": SEED, "backupCodes": codes},
                      "metadata": {"issuer": "bench", "account": "b%03d" % n}}))

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        futures = [pool.submit(put, args.url, keys[ident], name, body)
                   for ident, name, body in jobs]
        for fut in futures:
            fut.result()
    elapsed = time.monotonic() - started
    print("seed: %d credentials in %.1f s (%.0f PUT/s)" % (len(jobs), elapsed, len(jobs) / elapsed))


if __name__ == "__main__":
    sys.exit(main())
