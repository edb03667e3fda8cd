// C entry points to libtorch's CUDA caching-allocator statistics (what torch.cuda.memory_allocated,
// max_memory_allocated, memory_reserved, max_memory_reserved and reset_peak_memory_stats read), which TorchSharp
// does not expose. Built on the GPU host against its PyTorch's headers (build/native/build_allocator_stats.sh);
// loaded by VDiTLens.Runtime.CudaAllocatorStatistics from the path in VDITLENS_ALLOCATOR_STATS.
// PyTorch ≥ 2.8 reaches the CUDA caching allocator through c10's device-generic interface, whose header needs no
// CUDA headers (pip's CUDA 13 wheels lack crt/host_config.h, which the CUDA-specific header pulls in).
#if __has_include(<c10/core/CachingDeviceAllocator.h>)
#include <c10/core/CachingDeviceAllocator.h>
#define VDITLENS_GENERIC_ALLOCATOR 1
#else
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <cstdint>
#include <cstdio>
#include <exception>

namespace {
thread_local char last_error[512];

int fail(const std::exception& e)
{
    std::snprintf(last_error, sizeof last_error, "%s", e.what());
    return 1;
}
} // namespace

extern "C" {

// out[0..3] = allocated bytes now, peak allocated, reserved bytes now, peak reserved (all pools: index 0 = aggregate).
int vditlens_allocator_stats(int device, int64_t* out)
{
    try {
#ifdef VDITLENS_GENERIC_ALLOCATOR
        const auto stats = c10::getDeviceAllocator(c10::DeviceType::CUDA)->getDeviceStats(static_cast<c10::DeviceIndex>(device));
#else
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
#endif
        out[0] = stats.allocated_bytes[0].current;
        out[1] = stats.allocated_bytes[0].peak;
        out[2] = stats.reserved_bytes[0].current;
        out[3] = stats.reserved_bytes[0].peak;
        return 0;
    } catch (const std::exception& e) {
        return fail(e);
    }
}

int vditlens_allocator_reset_peak(int device)
{
    try {
#ifdef VDITLENS_GENERIC_ALLOCATOR
        c10::getDeviceAllocator(c10::DeviceType::CUDA)->resetPeakStats(static_cast<c10::DeviceIndex>(device));
#else
        c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
#endif
        return 0;
    } catch (const std::exception& e) {
        return fail(e);
    }
}

const char* vditlens_allocator_last_error() { return last_error; }
}
