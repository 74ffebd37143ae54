#!/bin/sh
# Starts a distributed echolot load run (docs/distributed.md): one start time for every shard, DELAY
# seconds from now (default 120, enough to schedule the pods and pull the image), written to the
# ConfigMap echolot-start; then load.yaml (the parameters and the Indexed Job) is applied. The Job of an
# earlier run is deleted first: a Job cannot be changed once created.
#
#   deploy/kubernetes/start.sh [DELAY]    DELAY: whole seconds, 10..3600
#
# kubectl's current context applies; NAMESPACE=ns selects a namespace. Exit codes: 0 started, 64 a bad
# DELAY or SHARDS that differs from the Job's completions or parallelism (the Job is then deleted),
# anything else kubectl's.
set -eu

k() {
  if [ -n "${NAMESPACE:-}" ]; then kubectl --namespace "$NAMESPACE" "$@"; else kubectl "$@"; fi
}

here=$(cd "$(dirname "$0")" && pwd)
delay=${1:-120}
case $delay in
  [1-9] | [1-9]*[0-9]) ok=1 ;;
  *) ok=0 ;;
esac
case $delay in *[!0-9]*) ok=0 ;; esac
if [ "$ok" = 0 ] || [ "$delay" -lt 10 ] || [ "$delay" -gt 3600 ]; then
  echo "start.sh: DELAY '$delay': must be whole seconds from 10 to 3600 (the time until the shards start)" >&2
  exit 64
fi

# Epoch milliseconds: portable (GNU and BSD date), and what --start-at takes as is.
start_at=$((($(date +%s) + delay) * 1000))

k delete job echolot-shards --ignore-not-found --cascade=foreground
k create configmap echolot-start --from-literal="START_AT=$start_at" --dry-run=client -o yaml | k apply -f -
k apply -f "$here/load.yaml"

shards=$(k get configmap echolot-load -o 'jsonpath={.data.SHARDS}')
job=$(k get job echolot-shards -o 'jsonpath={.spec.completions} {.spec.parallelism}')
if [ "$job" != "$shards $shards" ]; then
  k delete job echolot-shards --ignore-not-found
  echo "start.sh: SHARDS '$shards' in the ConfigMap echolot-load, but the Job has completions and parallelism '$job': all three must be equal (deploy/kubernetes/load.yaml); the Job was deleted" >&2
  exit 64
fi
run_id=$(k get configmap echolot-load -o 'jsonpath={.data.RUN_ID}')
echo "run $run_id: $shards shards start at $start_at (epoch ms), in $delay s"
echo "then: kubectl wait --for=condition=complete job/echolot-shards --timeout=1h; deploy/kubernetes/collect.sh"
