//! libFuzzer entry point; the invariants live in `assay_fuzz::steps` (shared with
//! tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assay_fuzz::steps(data));
