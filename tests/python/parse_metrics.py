"""Parse Hostel's /metrics with the official Prometheus Python client.

Usage: parse_metrics.py < metrics.txt   (prometheus_client pinned in .ci/run)
Hostel serves OpenMetrics text; the strict OpenMetrics parser must accept
it. Prints {family: {"type": t, "samples": [[name, labels, value], ...]}}
as JSON for the Rust test to check.
"""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "samples": [[s.name, s.labels, s.value] for s in family.samples],
    }
print(json.dumps(families))
