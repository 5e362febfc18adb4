//! The exact (Clopper-Pearson) confidence bound on a defect rate seen in a sample.

use statrs::distribution::{Beta, ContinuousCDF};

/// The upper end of the two-sided 95% Clopper-Pearson interval for `defects` in `n` reviewed
/// items: the largest defect rate still consistent with what was seen. 1.0 when nothing was
/// reviewed (nothing is known yet).
pub fn clopper_pearson_upper(defects: u64, n: u64) -> f64 {
    if n == 0 || defects >= n {
        return 1.0;
    }
    // Beta(k+1, n-k) quantile at 1 - alpha/2; both shapes are positive here, so new cannot fail.
    match Beta::new(defects as f64 + 1.0, (n - defects) as f64) {
        Ok(b) => b.inverse_cdf(0.975),
        Err(_) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn known_values() {
        // 0 of n has the closed form 1 - (alpha/2)^(1/n).
        assert!(
            close(clopper_pearson_upper(0, 100), 0.0362),
            "{}",
            clopper_pearson_upper(0, 100)
        );
        assert!(close(
            clopper_pearson_upper(0, 10),
            1.0 - 0.025f64.powf(0.1)
        ));
        // Values from R's binom.test(k, n)$conf.int[2].
        assert!(
            close(clopper_pearson_upper(1, 100), 0.05446),
            "{}",
            clopper_pearson_upper(1, 100)
        );
        assert!(
            close(clopper_pearson_upper(5, 100), 0.11284),
            "{}",
            clopper_pearson_upper(5, 100)
        );
        assert!(
            close(clopper_pearson_upper(10, 100), 0.17622),
            "{}",
            clopper_pearson_upper(10, 100)
        );
        assert!(
            close(clopper_pearson_upper(50, 100), 0.60167),
            "{}",
            clopper_pearson_upper(50, 100)
        );
    }

    #[test]
    fn edges() {
        assert_eq!(clopper_pearson_upper(0, 0), 1.0);
        assert_eq!(clopper_pearson_upper(7, 7), 1.0);
        assert!(clopper_pearson_upper(0, 1_000_000) < 1e-5);
    }

    #[test]
    fn grows_with_defects() {
        let mut last = 0.0;
        for k in 0..100 {
            let u = clopper_pearson_upper(k, 100);
            assert!(u > last);
            last = u;
        }
    }
}
