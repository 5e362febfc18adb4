//! Text fingerprints for duplicate detection: normalisation, exact hash, MinHash and LSH bands.
//!
//! Normalised text keeps only letters and digits (Unicode alphanumerics, so Chinese characters
//! stay), lower-cased, with full-width ASCII folded to half-width: punctuation, spacing and case
//! changes do not make a sample new. Shingles are character n-grams of that text, so Chinese
//! needs no word segmentation. The signature is one-permutation MinHash with optimal
//! densification (Shrivastava 2017): one hash per shingle instead of one per shingle and
//! permutation, with the same collision probability (the Jaccard similarity). Hand-written
//! because the MinHash crates hash every shingle once per permutation, which is 100x the work.

/// Bins (the signature length).
pub const NUM_PERM: usize = 128;
/// Default shingle length in characters.
pub const DEFAULT_NGRAM: usize = 3;

/// Appends the normalised characters of `text` to `out`.
pub fn normalise(text: &str, out: &mut Vec<char>) {
    for c in text.chars() {
        let c = match c {
            // Full-width ASCII variants (ＡＢＣ１２３) are the same letters and digits.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            }
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A hash of the normalised text: equal for exact duplicates.
pub fn exact_hash(chars: &[char]) -> u64 {
    chars.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |h, &c| {
        fmix64(h ^ c as u64).wrapping_add(0x2545_f491)
    })
}

/// The MinHash signature of the n-gram shingles of `chars` (empty input: None).
pub fn signature(chars: &[char], ngram: usize) -> Option<[u32; NUM_PERM]> {
    if chars.is_empty() {
        return None;
    }
    let n = ngram.clamp(1, chars.len());
    let mut bins = [u32::MAX; NUM_PERM];
    let mut filled = [false; NUM_PERM];
    for w in chars.windows(n) {
        // A char is 21 bits, so up to three fit in a u64 exactly; longer n-grams are folded.
        let packed = w.iter().fold(0u64, |h, &c| h.rotate_left(21) ^ c as u64);
        let h = fmix64(packed);
        let bin = (h >> 57) as usize; // top 7 bits: NUM_PERM = 128 bins
        let value = h as u32;
        if value <= bins[bin] {
            bins[bin] = value;
            filled[bin] = true;
        }
    }
    // Optimal densification: an empty bin borrows the value of a bin picked by a hash of its
    // index and the attempt, so that two sets agree on a borrowed value as often as on real ones.
    let any = filled.iter().any(|&f| f);
    if !any {
        return None;
    }
    let mut out = bins;
    for (i, slot) in out.iter_mut().enumerate() {
        if filled[i] {
            continue;
        }
        // At least one bin is filled, so this ends; the cap only bounds a pathological run.
        for attempt in 0..100_000u64 {
            let j = (fmix64(((i as u64) << 32) | attempt) >> 57) as usize;
            if filled[j] {
                *slot = bins[j];
                break;
            }
        }
    }
    Some(out)
}

/// How a signature is cut into LSH bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    pub bands: usize,
    pub rows: usize,
}

impl Bands {
    /// The bands that find a pair at the threshold with probability >= 0.97 while making the
    /// fewest candidates below it (candidates are checked against the sketch afterwards, so a
    /// missed duplicate costs more than a false candidate).
    pub fn for_threshold(threshold: f64) -> Bands {
        let t = threshold.clamp(0.01, 0.99);
        let candidate = |s: f64, b: usize, r: usize| 1.0 - (1.0 - s.powi(r as i32)).powi(b as i32);
        let false_area = |b: usize, r: usize| {
            let steps = 200;
            let dx = t / steps as f64;
            (0..steps)
                .map(|i| candidate((i as f64 + 0.5) * dx, b, r) * dx)
                .sum::<f64>()
        };
        let mut best: Option<(f64, Bands)> = None;
        let mut fallback = (
            0.0,
            Bands {
                bands: NUM_PERM,
                rows: 1,
            },
        );
        for r in 1..=NUM_PERM {
            let b = NUM_PERM / r;
            let found = candidate(t, b, r);
            if found > fallback.0 {
                fallback = (found, Bands { bands: b, rows: r });
            }
            if found >= 0.97 {
                let area = false_area(b, r);
                if best.is_none_or(|(a, _)| area < a) {
                    best = Some((area, Bands { bands: b, rows: r }));
                }
            }
        }
        best.map_or(fallback.1, |(_, bands)| bands)
    }

    /// Appends one hash per band of `sig`.
    /// 32 bits per band: a chance collision only adds a candidate, which the sketch rejects.
    pub fn hashes(&self, sig: &[u32; NUM_PERM], out: &mut Vec<u32>) {
        for b in 0..self.bands {
            let rows = &sig[b * self.rows..(b + 1) * self.rows];
            let h = rows
                .iter()
                .fold(b as u64, |h, &v| fmix64(h ^ ((v as u64) << 16)));
            out.push((h >> 32) as u32);
        }
    }
}

/// The low byte of every bin: enough to estimate the Jaccard similarity of a candidate pair at
/// an eighth of the memory of the full signature.
pub fn sketch(sig: &[u32; NUM_PERM], out: &mut Vec<u8>) {
    out.extend(sig.iter().map(|&v| v as u8));
}

/// Estimated Jaccard similarity from two sketches (corrected for chance byte collisions).
pub fn estimate(a: &[u8], b: &[u8]) -> f64 {
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len().max(1) as f64;
    ((same - 1.0 / 256.0) / (1.0 - 1.0 / 256.0)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Vec<char> {
        let mut v = Vec::new();
        normalise(s, &mut v);
        v
    }

    fn true_jaccard(a: &[char], b: &[char], n: usize) -> f64 {
        use std::collections::HashSet;
        let sa: HashSet<&[char]> = a.windows(n).collect();
        let sb: HashSet<&[char]> = b.windows(n).collect();
        sa.intersection(&sb).count() as f64 / sa.union(&sb).count() as f64
    }

    #[test]
    fn normalisation_ignores_case_punctuation_and_width() {
        assert_eq!(norm("Ｈello, 世界！ A1"), norm("hello世界a１"));
    }

    #[test]
    fn estimate_tracks_true_jaccard() {
        let base: String = (0..400)
            .map(|i| char::from_u32(0x4e00 + (i * 7919 % 3000) as u32).unwrap())
            .collect();
        let edited: String = base
            .chars()
            .enumerate()
            .map(|(i, c)| if i % 40 == 0 { '乙' } else { c })
            .collect();
        let (a, b) = (norm(&base), norm(&edited));
        let truth = true_jaccard(&a, &b, 3);
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        sketch(&signature(&a, 3).unwrap(), &mut sa);
        sketch(&signature(&b, 3).unwrap(), &mut sb);
        let est = estimate(&sa, &sb);
        assert!((est - truth).abs() < 0.12, "estimate {est} vs true {truth}");
    }

    #[test]
    fn bands_for_080_favour_recall() {
        let b = Bands::for_threshold(0.8);
        let p = 1.0 - (1.0 - 0.8f64.powi(b.rows as i32)).powi(b.bands as i32);
        assert!(p > 0.9, "{b:?} finds a 0.8 pair with probability {p}");
        assert!(b.bands * b.rows <= NUM_PERM);
    }
}
