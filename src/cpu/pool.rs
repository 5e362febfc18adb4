//! A persistent worker pool for the fast llama forward: one call per parallel region (about
//! five per layer per token), each split into chunks that threads claim from one atomic word.
//!
//! Hand-written rather than rayon or candle's pool because a token is ~150 regions of a few
//! microseconds each: the caller must not sleep or wait on a condition variable between them.
//! Idle workers spin briefly, then yield, then park. The calling thread claims chunks too, so a
//! worker the OS has descheduled (the machine is shared) delays a region by at most the chunk
//! it holds, never by a whole share of the work: that is what keeps a busy machine usable.
//!
//! Panic-safe: every chunk runs under `catch_unwind`, is counted done whether it returned or
//! panicked, and `run` returns (or resumes the first panic) only once every chunk of the
//! region has finished, so no worker can still be using the caller's task when its stack
//! unwinds, and a worker's panic cannot leave the caller waiting forever.

use std::any::Any;
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// A region's body: `(chunk index, worker index)`; worker 0 is the calling thread.
pub type Task<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Chunks per region fit in 16 bits of the state word.
const MAX_CHUNKS: usize = u16::MAX as usize;
/// How long an idle worker spins before it starts yielding, then before it parks.
const SPIN_FOR: Duration = Duration::from_micros(200);
const PARK_AFTER: Duration = Duration::from_millis(3);

#[repr(align(64))]
struct Padded<T>(T);

struct Shared {
    /// `epoch << 32 | total << 16 | next`: one word, so a claim sees a consistent region.
    state: Padded<AtomicU64>,
    /// Chunks of the current region finished.
    done: Padded<AtomicUsize>,
    /// Points at the caller's `Task` for the current epoch (valid until `done == total`).
    task: AtomicPtr<()>,
    sleepers: AtomicUsize,
    quit: AtomicBool,
    /// Set when a chunk of the current region panicked; its payload is in `panic`.
    panicked: AtomicBool,
    /// The first panic of the current region, resumed on the caller once the region is done.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

fn unpack(s: u64) -> (u32, usize, usize) {
    (
        (s >> 32) as u32,
        ((s >> 16) & 0xffff) as usize,
        (s & 0xffff) as usize,
    )
}

impl Shared {
    /// Claims and runs chunks of region `epoch` until none is left.
    fn claim(&self, epoch: u32, worker: usize) {
        loop {
            let s = self.state.0.load(Ordering::Acquire);
            let (e, total, next) = unpack(s);
            if e != epoch || next >= total {
                return;
            }
            if self
                .state
                .0
                .compare_exchange_weak(s, s + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: the claim succeeded for `epoch`, so that region has an unfinished
                // chunk (ours): its caller is still inside `run`, waiting on `done`, and the
                // `Task` it published lives on its stack until then.
                let task = unsafe { *(self.task.load(Ordering::Acquire) as *const Task) };
                // Caught so that the chunk is always counted: the caller waits on the count
                // before its task (on its stack) may go.
                if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| task(next, worker))) {
                    self.record_panic(payload);
                }
                self.done.0.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Keeps the region's first panic for the caller to resume.
    #[cold]
    fn record_panic(&self, payload: Box<dyn Any + Send>) {
        let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(payload);
        }
        self.panicked.store(true, Ordering::Release);
    }
}

/// The pool: `threads - 1` workers plus the calling thread.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<(Thread, Option<JoinHandle<()>>)>,
    epoch: u32,
}

impl Pool {
    /// Starts `threads - 1` workers (none for 1).
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Padded(AtomicU64::new(0)),
            done: Padded(AtomicUsize::new(0)),
            task: AtomicPtr::new(std::ptr::null_mut()),
            sleepers: AtomicUsize::new(0),
            quit: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            panic: Mutex::new(None),
        });
        let mut workers = Vec::new();
        for i in 1..threads.max(1) {
            let s = Arc::clone(&shared);
            let h = thread::Builder::new()
                .name(format!("assay-llm-{i}"))
                .spawn(move || worker_loop(&s, i))?;
            workers.push((h.thread().clone(), Some(h)));
        }
        Ok(Self {
            shared,
            workers,
            epoch: 0,
        })
    }

    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `task(c, worker)` for every chunk `c` in `0..chunks`, on all threads; returns when
    /// every chunk has finished. If a chunk panics, the other chunks still run, and once all
    /// have finished the first panic is resumed on the calling thread.
    pub fn run(&mut self, chunks: usize, task: Task) {
        if self.workers.is_empty() || chunks <= 1 {
            (0..chunks).for_each(|c| task(c, 0));
            return;
        }
        for base in (0..chunks).step_by(MAX_CHUNKS) {
            let n = (chunks - base).min(MAX_CHUNKS);
            let shifted = move |c: usize, w: usize| task(base + c, w);
            self.region(n, &shifted);
        }
    }

    fn region(&mut self, chunks: usize, task: Task) {
        self.epoch = self.epoch.wrapping_add(1).max(1);
        let sh = &*self.shared;
        // Published by the SeqCst store of `state` below, which every claim reads.
        sh.task
            .store(&task as *const Task as *mut (), Ordering::Relaxed);
        sh.done.0.store(0, Ordering::Relaxed);
        sh.state.0.store(
            (u64::from(self.epoch) << 32) | ((chunks as u64) << 16),
            Ordering::SeqCst,
        );
        if sh.sleepers.load(Ordering::SeqCst) > 0 {
            self.workers.iter().for_each(|(t, _)| t.unpark());
        }
        sh.claim(self.epoch, 0);
        // Only chunks other threads hold are left: wait for them, yielding if it takes long
        // (a descheduled worker needs this core back to finish).
        let mut spins = 0u32;
        while sh.done.0.load(Ordering::Acquire) < chunks {
            spins += 1;
            if spins < 2000 {
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
        // Every chunk is done: nothing uses `task` any more, so unwinding from here is safe.
        if sh.panicked.load(Ordering::Acquire) {
            sh.panicked.store(false, Ordering::Relaxed);
            let payload = sh.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(payload) = payload {
                panic::resume_unwind(payload);
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::SeqCst);
        for (t, h) in &mut self.workers {
            t.unpark();
            if let Some(h) = h.take() {
                let _ = h.join();
            }
        }
    }
}

fn worker_loop(sh: &Shared, me: usize) {
    let mut seen = 0u32;
    let mut idle = Instant::now();
    let mut polls = 0u32;
    let mut waited = Duration::ZERO;
    loop {
        let epoch = (sh.state.0.load(Ordering::Acquire) >> 32) as u32;
        if epoch != seen {
            seen = epoch;
            sh.claim(epoch, me);
            idle = Instant::now();
            polls = 0;
            waited = Duration::ZERO;
            continue;
        }
        if sh.quit.load(Ordering::Acquire) {
            return;
        }
        polls += 1;
        // Reading the clock costs more than a spin: look at it every 64 polls.
        if polls.is_multiple_of(64) {
            waited = idle.elapsed();
        }
        if waited < SPIN_FOR {
            std::hint::spin_loop();
        } else if waited < PARK_AFTER {
            thread::yield_now();
        } else {
            // Registered as a sleeper before the last look at the state: a caller that
            // publishes after that look sees the registration and unparks us.
            sh.sleepers.fetch_add(1, Ordering::SeqCst);
            let epoch = (sh.state.0.load(Ordering::SeqCst) >> 32) as u32;
            if epoch == seen && !sh.quit.load(Ordering::SeqCst) {
                thread::park();
            }
            sh.sleepers.fetch_sub(1, Ordering::SeqCst);
            idle = Instant::now();
            polls = 0;
            waited = Duration::ZERO;
        }
    }
}

/// Splits `n` items into chunks of a multiple of `align` items, about four per thread (a few
/// more than threads, so a late thread leaves less for the others to wait on).
pub fn chunking(n: usize, threads: usize, align: usize) -> (usize, usize) {
    if threads <= 1 || n <= align {
        return (1, n.max(1));
    }
    let per = n.div_ceil(threads * 4).next_multiple_of(align);
    (n.div_ceil(per), per)
}

/// A slice that a region's chunks write at disjoint ranges.
pub struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: it only hands out `&mut` sub-slices whose disjointness the callers guarantee.
unsafe impl<T: Send> Send for Disjoint<'_, T> {}
// SAFETY: as above; shared use from several threads writes disjoint ranges.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    pub fn new(s: &'a mut [T]) -> Self {
        Self {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _borrow: PhantomData,
        }
    }

    /// The sub-slice `r` (bounds-checked).
    ///
    /// # Safety
    /// No two live results may overlap: each chunk of a region writes only its own range.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn range(&self, r: Range<usize>) -> &mut [T] {
        assert!(r.start <= r.end && r.end <= self.len, "range out of bounds");
        // SAFETY: in bounds (checked); exclusive per the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.end - r.start) }
    }

    /// Writes element `i` (bounds-checked).
    ///
    /// # Safety
    /// No other chunk may read or write `i` during the region.
    pub unsafe fn set(&self, i: usize, v: T) {
        assert!(i < self.len, "index out of bounds");
        // SAFETY: in bounds (checked); exclusive per the caller's contract.
        unsafe { *self.ptr.add(i) = v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_runs_once_on_any_thread_count() -> std::io::Result<()> {
        for threads in [1, 2, 3] {
            let mut pool = Pool::new(threads)?;
            for round in 0..200usize {
                let chunks = round % 37;
                let hits: Vec<AtomicUsize> = (0..chunks).map(|_| AtomicUsize::new(0)).collect();
                pool.run(chunks, &|c, w| {
                    assert!(w < threads);
                    hits[c].fetch_add(1, Ordering::Relaxed);
                });
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            }
        }
        Ok(())
    }

    #[test]
    fn workers_wake_after_parking_and_write_disjoint_ranges() -> std::io::Result<()> {
        let mut pool = Pool::new(2)?;
        let mut out = vec![0u32; 1000];
        for round in 0..3u32 {
            // Long enough for the worker to park between regions.
            std::thread::sleep(PARK_AFTER * 2);
            let (chunks, per) = chunking(out.len(), 2, 16);
            let d = Disjoint::new(&mut out);
            pool.run(chunks, &|c, _| {
                let r = c * per..((c + 1) * per).min(1000);
                // SAFETY: chunk ranges are disjoint.
                let s = unsafe { d.range(r.clone()) };
                for (i, v) in r.zip(s) {
                    *v = i as u32 + round;
                }
            });
            assert!(out.iter().enumerate().all(|(i, &v)| v == i as u32 + round));
        }
        Ok(())
    }

    /// A panic in a worker's chunk or in the caller's own chunk reaches the caller only after
    /// every chunk has finished: the chunk still running never outlives `run`, so it never reads
    /// the caller's data after the caller dropped it (a freed, then re-filled buffer), and the
    /// caller never waits forever on a chunk that panicked. The pool stays usable afterwards.
    #[test]
    fn a_panicking_chunk_is_resumed_after_every_chunk_finished() -> std::io::Result<()> {
        use std::time::Duration;
        let mut pool = Pool::new(2)?;
        for round in 0..100usize {
            // Alternate: the worker's chunk panics, or the caller's does.
            let worker_panics = round % 2 == 0;
            let data = vec![0xABu8; 4096];
            let started = AtomicBool::new(false);
            let finished = AtomicBool::new(false);
            let bad_reads = AtomicUsize::new(0);
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                pool.run(2, &|_, w| {
                    if w == 0 {
                        // The caller: wait (bounded) until the worker holds the other chunk.
                        let t0 = Instant::now();
                        while !started.load(Ordering::Acquire)
                            && t0.elapsed() < Duration::from_secs(2)
                        {
                            std::hint::spin_loop();
                        }
                        if !worker_panics {
                            panic!("caller chunk");
                        }
                        return;
                    }
                    started.store(true, Ordering::Release);
                    if worker_panics {
                        panic!("worker chunk");
                    }
                    // Still reading the caller's buffer well after the caller's chunk panicked.
                    std::thread::sleep(Duration::from_micros(300));
                    let bad = data.iter().filter(|&&b| b != 0xAB).count();
                    bad_reads.fetch_add(bad, Ordering::Relaxed);
                    finished.store(true, Ordering::Release);
                });
            }));
            let payload = outcome.expect_err("the chunk's panic reaches the caller");
            let message = payload.downcast_ref::<&str>().copied().unwrap_or("");
            if worker_panics {
                // Either thread may have claimed the panicking chunk; both are worker 1's.
                assert!(
                    message == "worker chunk" || !started.load(Ordering::Acquire),
                    "{message}"
                );
            } else {
                assert_eq!(message, "caller chunk");
                // `run` waited for the worker's chunk before unwinding.
                assert!(!started.load(Ordering::Acquire) || finished.load(Ordering::Acquire));
            }
            drop(data);
            // Re-use the freed memory: a late reader of `data` would now see zeros.
            let poison = vec![0u8; 4096];
            std::hint::black_box(&poison);
            assert_eq!(bad_reads.load(Ordering::Relaxed), 0);
            // The pool still runs every chunk afterwards.
            let hits = AtomicUsize::new(0);
            pool.run(8, &|_, _| {
                hits.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(hits.load(Ordering::Relaxed), 8);
        }
        Ok(())
    }

    #[test]
    fn chunking_covers_everything_aligned() {
        for (n, t) in [(576, 2), (49152, 2), (960, 3), (5, 2), (0, 2), (1536, 1)] {
            let (chunks, per) = chunking(n, t, 16);
            assert!(chunks * per >= n, "{n} {t}");
            assert!(chunks == 1 || per % 16 == 0);
            assert!(chunks == 1 || (chunks - 1) * per < n);
        }
    }
}
