#!/usr/bin/python3
"""Reads an OpenMetrics text exposition on stdin with the Prometheus client library's own
parser (Debian's python3-prometheus-client) and prints each sample as one JSON line:
{"name", "labels", "value"}. A text the parser refuses exits non-zero with its reason."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

text = sys.stdin.read()
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        print(json.dumps({"name": sample.name, "labels": sample.labels, "value": sample.value}))
