#!/bin/sh
# Collects the results of the shards of the Job echolot-shards (docs/distributed.md). Each shard prints
# its complete result as the last line of its log (`--out -`); for every pod that succeeded this writes
# that line to DIR/shard-<index>.json (DIR by default results/<RUN_ID>, RUN_ID from the ConfigMap
# echolot-load), after removing the shard files an earlier collection left there, and names the shards
# that have no result. Then: npx echolot merge DIR.
#
#   deploy/kubernetes/collect.sh [DIR]
#
# kubectl's current context applies; NAMESPACE=ns selects a namespace. Exit codes: 0 every shard
# collected; 1 some shards missing (merge them with --allow-partial, or run again); 64 a RUN_ID unfit
# for a directory name, or a SHARDS that is not a number; 75 shards still running (wait for the Job,
# then collect); anything else kubectl's.
set -eu

k() {
  if [ -n "${NAMESPACE:-}" ]; then kubectl --namespace "$NAMESPACE" "$@"; else kubectl "$@"; fi
}

run_id=$(k get configmap echolot-load -o 'jsonpath={.data.RUN_ID}')
case $run_id in
  '' | .* | *[!A-Za-z0-9._-]*)
    echo "collect.sh: RUN_ID '$run_id' in the ConfigMap echolot-load: must be letters, digits, '.', '_' or '-', not starting with '.'" >&2
    exit 64
    ;;
esac
shards=$(k get configmap echolot-load -o 'jsonpath={.data.SHARDS}')
case $shards in
  '' | 0* | *[!0-9]*)
    echo "collect.sh: SHARDS '$shards' in the ConfigMap echolot-load: must be a whole number of shards, at least 1" >&2
    exit 64
    ;;
esac
job=$(k get job echolot-shards -o 'jsonpath={.metadata.uid} {.status.active}')
uid=${job%% *}
active=${job#"$uid"}
active=${active# }
if [ -n "$active" ] && [ "$active" != 0 ]; then
  echo "collect.sh: $active shards of the Job echolot-shards are still running: wait for the Job (kubectl wait --for=condition=complete job/echolot-shards), then collect" >&2
  exit 75
fi

dir=${1:-results/$run_id}
mkdir -p "$dir"
rm -f "$dir"/shard-*.json

k get pods -l "batch.kubernetes.io/controller-uid=$uid" --field-selector=status.phase=Succeeded \
  -o 'jsonpath={range .items[*]}{.metadata.annotations.batch\.kubernetes\.io/job-completion-index} {.metadata.name}{"\n"}{end}' |
  while read -r index pod; do
    case $index in '' | *[!0-9]*) continue ;; esac
    # The result is the last line that is a JSON object: the console report may follow it on stderr.
    k logs "$pod" -c shard | grep '^{' | tail -n 1 >"$dir/shard-$index.json" || true
    if [ ! -s "$dir/shard-$index.json" ]; then
      rm -f "$dir/shard-$index.json"
      echo "collect.sh: pod $pod (shard $index) succeeded but its log has no result line" >&2
    fi
  done

missing=''
count=0
i=0
while [ "$i" -lt "$shards" ]; do
  if [ -s "$dir/shard-$i.json" ]; then count=$((count + 1)); else missing="$missing $i"; fi
  i=$((i + 1))
done
echo "run $run_id: $count of $shards shards collected into $dir"
if [ -n "$missing" ]; then
  echo "missing shards:$missing (kubectl get job echolot-shards -o jsonpath='{.status.failedIndexes}', kubectl logs of their pods)"
  echo "then: npx echolot merge $dir --allow-partial, or run again (docs/distributed.md)"
  exit 1
fi
echo "then: npx echolot merge $dir"
