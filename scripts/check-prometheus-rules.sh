#!/usr/bin/env bash
# The alert rules parse and their unit tests pass (promtool from Debian's prometheus package).
set -euo pipefail
cd "$(dirname "$0")/../deploy/prometheus"
promtool check rules gateway-alerts.yaml
promtool test rules gateway-alerts.test.yaml
