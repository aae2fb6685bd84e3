//! The allocator's policy for large blocks.
//!
//! glibc serves a request above its mmap threshold (128 KiB at start) with its own mapping and
//! returns it to the system on free. After such a block is freed it raises the threshold, up to
//! 32 MiB, and serves later large requests from the heap instead, where a freed block stays
//! part of the process. vigil frees large blocks in phases (FFmpeg's MP4 sample tables when a
//! pass closes the file, a pass's frame buffers), so the cold cascade's peak RSS went from
//! 488.5 MiB on 1 h of MP4 footage to 568.8 MiB on 8 h. With the threshold fixed at 1 MiB the
//! 8 h run peaked at 497.2 MiB (`MALLOC_MMAP_THRESHOLD_` on the old binary), and with this
//! call 470.6 MiB on 1 h and 498.7 MiB on 8 h (`/usr/bin/time -f %M vigil score --device cpu
//! --json FILE`; README, "Memory on long footage").

/// Requests at least this large get their own mapping, returned to the system when freed.
const MMAP_THRESHOLD: i32 = 1 << 20;

/// Fixes glibc's mmap threshold (see the module docs). Call once, first thing in `main`;
/// harmless if it fails (the allocator keeps its default policy).
pub fn release_large_blocks() {
    // SAFETY: mallopt only changes the allocator's tuning parameters; M_MMAP_THRESHOLD with a
    // value under HEAP_MAX takes effect for later allocations and does not touch live blocks.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    if ok != 1 {
        tracing::debug!("mallopt(M_MMAP_THRESHOLD) refused; keeping the allocator's default");
    }
}
