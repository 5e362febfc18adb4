//! libFuzzer entry point; the invariants live in `assay_fuzz::parse_list` (shared with
//! tests/fuzz_regressions.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assay_fuzz::parse_list(data));
