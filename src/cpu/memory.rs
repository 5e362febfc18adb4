//! The allocator setting for a process that runs the CPU numerics: freed buffers stay in the
//! process (see [`keep_freed_memory`] for the measurement behind it).

/// Keeps freed memory in the process instead of returning it to the kernel at every `free`.
///
/// A step allocates and frees some hundreds of activation buffers of 0.5-3 MB; under glibc's
/// defaults the larger ones are fresh `mmap`s, so every step page-faults them in again (each
/// fault zeroes a page and, on a write after a read, flushes TLBs across cores): about a tenth
/// of the step's CPU time on SmolLM2-135M. Buffers up to 32 MB now come from the heap, and the
/// heap's top is not trimmed, and threads share one arena: a buffer freed on another thread
/// than it was allocated on is otherwise stranded in its arena and the next step faults in fresh
/// pages. Process-wide, which suits a process that trains; threads that allocated before the
/// first call keep their own arenas, so it is called as the base weights load.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::Once;
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator thresholds; both values are within the
            // ranges glibc documents (the mmap threshold at most 32 MB on 64-bit systems).
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
                libc::mallopt(libc::M_ARENA_MAX, 1);
            }
        });
    }
}
