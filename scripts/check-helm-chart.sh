#!/usr/bin/env bash
# helm lint and helm template of the chart with each values file in ci/, every manifest validated by
# kubeconform in strict mode against the Kubernetes schemas (scripts/install-ci-tools.sh fetches both)
# and, for the Prometheus Operator's ServiceMonitor, against the schema shipped in deploy/helm/schemas.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_SCHEMA_VERSION="${KUBERNETES_SCHEMA_VERSION:-v1.33.0}"
bin="${HELM_BIN_DIR:-.cache/go-bin}"
chart=deploy/helm/mcp-gateway
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for values in "$chart"/ci/*-values.yaml; do
  name="$(basename "$values" -values.yaml)"
  echo "-- $name"
  "$bin/helm" lint --strict --quiet "$chart" -f "$values" --kube-version "${KUBERNETES_SCHEMA_VERSION#v}"
  "$bin/helm" template gw "$chart" -f "$values" --kube-version "${KUBERNETES_SCHEMA_VERSION#v}" >"$out/$name.yaml"
  "$bin/kubeconform" -strict -summary -exit-on-error \
    -kubernetes-version "${KUBERNETES_SCHEMA_VERSION#v}" \
    -schema-location ".cache/k8s-schemas/$KUBERNETES_SCHEMA_VERSION-local-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "deploy/helm/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "$out/$name.yaml"
done
