#!/usr/bin/env bash
# Builds libvditlens_allocator_stats.so (cuda_allocator_stats.cpp beside this script) against a PyTorch's libtorch.
# Usage: build_allocator_stats.sh LIBTORCH_LIB_DIR OUTPUT.so   (LIBTORCH_LIB_DIR = site-packages/torch/lib)
set -euo pipefail
lib="$1"; out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
torch_dir="$(dirname "$lib")"
site="$(dirname "$torch_dir")"
# cuda_runtime_api.h: pip's CUDA runtime headers (nvidia/*/include), else a CUDA toolkit.
header="$(find "$site/nvidia" -name cuda_runtime_api.h -path '*include*' 2>/dev/null | head -1 || true)"
cuda_inc="${header:+$(dirname "$header")}"
[ -z "$cuda_inc" ] && for d in "${CUDA_HOME:-}" /usr/local/cuda; do [ -n "$d" ] && [ -f "$d/include/cuda_runtime_api.h" ] && cuda_inc="$d/include" && break; done
[ -z "$cuda_inc" ] && [ ! -f "$torch_dir/include/c10/core/CachingDeviceAllocator.h" ] && { echo "no cuda_runtime_api.h (pip's nvidia/*/include or CUDA_HOME)" >&2; exit 1; }
abi="$(python3 -c 'import torch;print(int(torch.compiled_with_cxx11_abi()))' 2>/dev/null || echo 1)"
"${CXX:-c++}" -std=c++17 -O2 -shared -fPIC -D_GLIBCXX_USE_CXX11_ABI="$abi" \
  -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include" ${cuda_inc:+-I"$cuda_inc"} \
  "$here/cuda_allocator_stats.cpp" -L"$lib" -lc10_cuda -lc10 -Wl,-rpath,"$lib" -o "$out"
