#!/usr/bin/env bash
# Everything a lent GPU should run, for a machine with PyTorch, Triton and timm preinstalled (no .venv):
# the CUDA tests, a CUDA training run with exact resume, the kernel benchmark and benchmarks/gpu.sh.
# Usage: benchmarks/gpu_session.sh LOGDIR [tests|profile|bench-eager|bench-compiled|infer-compiled|suite]...
# Results go to benchmarks/results/; logs to LOGDIR. A failing step is logged and the next one runs.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=$1; shift
mkdir -p "$LOG" /tmp/senet-bin
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
printf '#!/bin/sh\nexec python3 -m senet "$@"\n' > /tmp/senet-bin/senet && chmod +x /tmp/senet-bin/senet
export PATH=/tmp/senet-bin:$PATH SENET=/tmp/senet-bin/senet
step() { local name=$1; shift; echo "== $name: $*"; local t=$SECONDS
  "$@" > "$LOG/$name.log" 2>&1; local rc=$?; echo "== $name rc=$rc $((SECONDS - t))s"; tail -n 25 "$LOG/$name.log"; }

cuda_resume() {  # exact resume on CUDA: 2 epochs straight vs stopped after 5 steps and resumed
  export CUBLAS_WORKSPACE_CONFIG=:4096:8
  local args=(--model se_resnet50 --data synthetic --image-size 64 --epochs 2 --max-batches 6 --batch-size 32
    --device cuda --deterministic --workers 0 --no-progress --no-tensorboard --amp bf16 --channels-last)
  senet train "${args[@]}" --out /tmp/r_full --json || return 1
  senet train "${args[@]}" --out /tmp/r_cut --max-steps 5 || return 1
  senet train "${args[@]}" --out /tmp/r_cut --resume auto --json || return 1
  python3 - <<'PY'
from safetensors.torch import load_file
a, b = load_file("/tmp/r_full/model.safetensors"), load_file("/tmp/r_cut/model.safetensors")
diff = [k for k in a if not (a[k] == b[k]).all()]
print("bitwise equal after resume on CUDA:", not diff, "| differing tensors:", len(diff), diff[:5])
raise SystemExit(1 if diff else 0)
PY
}

cuda_train() {  # the engine on CUDA: eager, compiled, torchrun with one process
  local args=(--model se_resnet50 --data synthetic --image-size 64 --epochs 1 --max-batches 10 --batch-size 64
    --device cuda --workers 4 --no-progress --amp bf16 --channels-last --json)
  senet train "${args[@]}" --out /tmp/t_eager || return 1
  senet train "${args[@]}" --out /tmp/t_compiled --compile || return 1
  torchrun --standalone --nproc_per_node 1 -m senet train "${args[@]}" --out /tmp/t_torchrun || return 1
}

for phase in "$@"; do
  case $phase in
    tests)
      { nvidia-smi; python3 -c "import torch, triton, timm; print(torch.__version__, torch.version.cuda, triton.__version__, timm.__version__)"; } > "$LOG/env.log" 2>&1
      cat "$LOG/env.log"
      step cuda_tests python3 -m pytest -q -p no:cacheprovider tests/test_fast.py -k "cuda or CUDA"
      step kernels python3 benchmarks/kernels_gpu.py benchmarks/results/gpu_fused_se.json 30
      step cuda_train cuda_train
      step cuda_resume cuda_resume ;;
    profile) step profile python3 benchmarks/profile_gpu.py benchmarks/results/gpu_profile_train.json 5 ;;
    bench-eager) step gpu_eager benchmarks/gpu.sh 128 30 eager ;;
    infer-compiled)  # the compiled inference table alone (the full compiled phase needs ~15 min on an H100)
      step infer_compiled timeout ${COMPILED_S:-600} senet bench \
        --models "resnet50[layout=torchvision],se_resnet50[layout=torchvision],timm:seresnet50" --mode infer \
        --device cuda --amp bf16 --channels-last --batch-size 128 --size 224 --warmup 10 --iters 30 --compile \
        --output benchmarks/results/gpu_resnet50_infer_compiled.json ;;
    bench-compiled) step gpu_compiled timeout ${COMPILED_S:-600} benchmarks/gpu.sh 128 30 compiled ;;
    suite) step suite timeout ${SUITE_S:-240} python3 -m pytest -q -p no:cacheprovider --timeout 120 ;;
  esac
done
