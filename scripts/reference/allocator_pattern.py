#!/usr/bin/env python3
"""The allocation sequence of VDiTLens.Benchmarks.AllocatorCheck.Pattern through PyTorch (same sizes, types, order and
frees): peak allocated and reserved bytes over the baseline, as torch.cuda.max_memory_allocated/_reserved report them.
`vditlens bench-ops --check --device cuda` prints the same figures read through CudaAllocatorStatistics."""
import json

import torch

PATTERN = [(1 << 28, torch.float32, False), (3_000_001, torch.float32, False), (777, torch.float32, False),
           (1 << 20, torch.bfloat16, True), (25_000_000, torch.float32, False), (12_345, torch.int64, False)]

d = torch.device("cuda")
torch.zeros(1, device=d)
torch.cuda.synchronize()
before, before_reserved = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
torch.cuda.reset_peak_memory_stats()
held = []
for n, dtype, free_now in PATTERN:
    t = torch.empty(n, dtype=dtype, device=d)
    if free_now:
        del t
    else:
        held.append(t)
print(json.dumps({"peak_allocated_over_baseline": torch.cuda.max_memory_allocated() - before,
                  "peak_reserved_over_baseline": torch.cuda.max_memory_reserved() - before_reserved}))
