#!/usr/bin/env python3
"""torch.sort (stable and not), torch.kthvalue and torch.topk on one chunk of `vditlens bench-ops --selection`
(5,597 rows x 44,776 keys float32 softmax rows, two alternated chunks), CUDA events, median of 5 after 2 warm-ups."""
import json
import sys

import torch

rows, n = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (5597, 44776)
x = [torch.softmax(torch.randn(rows, n, device="cuda") * 3, -1) for _ in range(2)]
k = n // 2


def median_ms(f):
    for i in range(2):
        f(x[i % 2])
    times = []
    for i in range(5):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        f(x[i % 2])
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    return sorted(times)[2]


print(json.dumps({"rows": rows, "keys": n, "device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                  "sort_stable_ms": median_ms(lambda v: torch.sort(v, dim=-1, stable=True)),
                  "sort_ms": median_ms(lambda v: torch.sort(v, -1)),
                  "kthvalue_ms": median_ms(lambda v: torch.kthvalue(v, k, -1)),
                  "topk_half_ms": median_ms(lambda v: torch.topk(v, k, -1, largest=False))}))
