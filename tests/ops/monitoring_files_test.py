#!/usr/bin/env python3
"""ctest ops_monitoring_files_test: the Prometheus scrape config, alert rules and Grafana
dashboard in ops/ parse, and use only the metric names SPEC 14 defines.

Usage: monitoring_files_test.py SOURCE_DIR
"""
import json
import re
import sys

import yaml

SPEC_METRICS = {
    "strongroom_requests_total",
    "strongroom_request_duration_seconds",
    "strongroom_hsm_operations_total",
    "strongroom_hsm_operation_duration_seconds",
    "strongroom_key_cache_hits_total",
    "strongroom_key_cache_misses_total",
    "strongroom_store_errors_total",
    "strongroom_audit_events_total",
    "strongroom_build_info",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr):
    for name in re.findall(r"\bstrongroom_[a-z_]+", expr):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in SPEC_METRICS:
                name = name[: -len(suffix)]
        yield name


def main(src):
    exprs = []
    scrape = yaml.safe_load(open(f"{src}/ops/prometheus/prometheus.yml"))
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    assert jobs["strongroom"]["metrics_path"] == "/metrics", jobs
    assert "strongroom-alerts.yml" in scrape["rule_files"], scrape["rule_files"]

    rules = yaml.safe_load(open(f"{src}/ops/prometheus/strongroom-alerts.yml"))
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    for name in ("StrongroomHsmUnavailable", "StrongroomStoreErrors", "StrongroomAuditLag",
                 "StrongroomAuthFailuresRising"):
        assert name in alerts, f"alert {name} missing"
    for rule in alerts.values():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule
        exprs.append(rule["expr"])

    dashboard = json.load(open(f"{src}/ops/grafana/strongroom-dashboard.json"))
    assert dashboard["panels"], "dashboard has no panels"
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]

    used = {n for e in exprs for n in metric_names(e)}
    unknown = used - SPEC_METRICS
    assert not unknown, f"metrics not in SPEC 14: {sorted(unknown)}"
    print(f"PASS: {len(alerts)} alerts, {len(dashboard['panels'])} panels, "
          f"{len(used)} of {len(SPEC_METRICS)} SPEC 14 metrics used")


if __name__ == "__main__":
    main(sys.argv[1])
