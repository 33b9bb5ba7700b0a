#if os(Linux)
import CMalloc
#endif

/// How the C allocator treats memory the process frees, for the base station's data path.
///
/// Why: libzmq allocates every received message (tens of KB) on its I/O thread and the base
/// station frees it on another, once summed. Between rounds those queues empty, glibc finds the
/// I/O thread's heap top free beyond its trim threshold and hands the pages back to the kernel,
/// and the next round faults every one of them in again. Measured on the stress point (K = 4,
/// 64 KiB frames): +17 % ingest with the pages kept (BENCHMARKS.md). Peak RSS is unchanged: the
/// memory kept is memory the process already used.
public enum AllocatorPolicy {
    /// Keep freed heap memory for reuse instead of returning it to the kernel (glibc's trim
    /// threshold raised to `trimThresholdBytes`; allocations below 32 MiB come from the heap).
    /// Elsewhere than glibc, nothing.
    public static func keepFreedMemory(trimThresholdBytes: Int32 = 1 << 30) {
        #if os(Linux)
        _ = mallopt(M_TRIM_THRESHOLD, trimThresholdBytes)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        #endif
    }
}
