#!/usr/bin/env bash
# SE overhead of two versions of senet on this CPU, alternating runs of `senet bench` (each run interleaves
# resnet50, se_resnet50 and timm's legacy_seresnet50 round by round), so drift hits both versions alike.
# Usage: benchmarks/compare_trees.sh REV [RUNS] [ITERS] [BENCH FLAGS...]   (REV: the older commit; the working
# tree is "new"; e.g. --optimize). Writes benchmarks/results/cpu_se_overhead_<REV>_vs_worktree[_<flags>].json.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=$1 RUNS=${2:-4} ITERS=${3:-40}
shift $(($# < 3 ? $# : 3))
EXTRA=("$@")
TAG=$(echo "${EXTRA[*]:-}" | tr -cd "a-z_-" | sed "s/^-*//")
OLD=$(mktemp -d)/senet-$REV
git worktree add -q --detach "$OLD" "$REV"
trap 'git worktree remove --force "$OLD"' EXIT
ARGS=(--models resnet50,se_resnet50,timm:legacy_seresnet50 --device cpu --batch-size 1 --size 224 --threads 1
  --warmup 3 --iters "$ITERS" --json ${EXTRA[@]+"${EXTRA[@]}"})
RESULTS=()
for i in $(seq "$RUNS"); do
  for tree in new old; do
    src=$PWD/src; [[ $tree == old ]] && src=$OLD/src
    f=$(mktemp)
    PYTHONPATH=$src OMP_NUM_THREADS=1 .venv/bin/python -m senet bench "${ARGS[@]}" > "$f"
    RESULTS+=("$tree:$f")
  done
done
.venv/bin/python - "$REV" "$TAG" "${RESULTS[@]}" <<'PY'
import json, statistics, sys
rev, tag, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
out = {"command": f"benchmarks/compare_trees.sh {rev}" + (f" ... --{tag}" if tag else ""), "old": rev, "new": "working tree", "runs": []}
for item in runs:
    tree, path = item.split(":", 1)
    d = json.load(open(path))
    out["environment"] = d["environment"]
    out["runs"].append({"tree": tree, **{r["model"]: {"ms": r["ms"]["median"], "latency_ratio": r["latency_ratio"]}
                                           for r in d["models"]}})
for tree in ("old", "new"):
    ratios = [r["se_resnet50"]["latency_ratio"] for r in out["runs"] if r["tree"] == tree]
    out[f"se_resnet50_ratio_{tree}"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
    print(tree, [round(x, 3) for x in ratios], "median", round(statistics.median(ratios), 3))
json.dump(out, open(f"benchmarks/results/cpu_se_overhead_{rev}_vs_worktree{'_' + tag if tag else ''}.json", "w"), indent=1)
PY
