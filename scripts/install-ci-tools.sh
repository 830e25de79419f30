#!/usr/bin/env bash
# Installs the deploy checks' tools into .cache/ (git-ignored), each only when missing:
#  - helm and kubeconform with `go install` from the Go module proxy (pinned versions) into .cache/go-bin;
#    Go's module and build caches stay in their usual per-user places, so a later run on the same machine
#    only relinks (about 40 s) instead of compiling helm afresh (about 9 minutes on 2 busy cores);
#  - the Kubernetes JSON schemas kubeconform validates against, from the kubernetes-validate package on PyPI
#    (pip download: the machines reach no other source of them), unpacked for one Kubernetes version.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
export KUBERNETES_SCHEMA_VERSION="${KUBERNETES_SCHEMA_VERSION:-v1.33.0}"

bin="$PWD/.cache/go-bin"
mkdir -p "$bin"
install_go() { # NAME MODULE@VERSION
  local stamp="$bin/.$1.version"
  if [ -x "$bin/$1" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$2" ]; then return; fi
  local started=$SECONDS
  GOBIN="$bin" GOFLAGS=-modcacherw go install "$2"
  echo "$2" >"$stamp"
  echo "installed $1 ($2) in $((SECONDS - started)) s"
}
install_go kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
install_go helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"

schemas="$PWD/.cache/k8s-schemas"
if [ ! -f "$schemas/$KUBERNETES_SCHEMA_VERSION-local-strict/deployment-apps-v1.json" ]; then
  wheels="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --dest "$wheels" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  mkdir -p "$schemas"
  python3 - "$wheels" "$schemas" <<'PY'
import glob, json, os, sys, zipfile
wheels, target = sys.argv[1], sys.argv[2]
prefix = f"kubernetes_validate/kubernetes-json-schema/{os.environ['KUBERNETES_SCHEMA_VERSION']}-local-strict/"
with zipfile.ZipFile(glob.glob(os.path.join(wheels, "*.whl"))[0]) as wheel:
    names = [n for n in wheel.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"no schemas under {prefix}")
    for name in names:
        # The package's schemas name one another by absolute URL ($id, "/api/_definitions.json#...");
        # kubeconform resolves references as files beside the schema, so drop the $id and make them relative.
        schema = json.loads(wheel.read(name))
        schema.pop("$id", None)
        text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
        out = os.path.join(target, name[len("kubernetes_validate/kubernetes-json-schema/"):])
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)
PY
  rm -rf "$wheels"
  echo "unpacked the Kubernetes $KUBERNETES_SCHEMA_VERSION schemas"
fi
