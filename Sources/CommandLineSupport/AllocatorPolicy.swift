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

    /// Return every block of `mmapThresholdBytes` or more to the kernel when it is freed (glibc's
    /// mmap threshold fixed there, which also stops glibc from raising it each time such a block
    /// is freed). For the edge's streamed memory mode, whose budget is its peak RSS: it frees and
    /// allocates a dequantised output chunk, its logits and a layer's buffers over and over, and
    /// with the threshold raised they come from the heap, where the freed pages stay resident
    /// (SmolLM2 at ctx 256: peak 130–135 MB against 116–126 MB with 1 MiB, plan 119 MB;
    /// BENCHMARKS.md). Elsewhere than glibc, nothing.
    public static func returnLargeBlocks(mmapThresholdBytes: Int32 = 1 << 20) {
        #if os(Linux)
            _ = mallopt(M_MMAP_THRESHOLD, mmapThresholdBytes)
        #endif
    }
}
