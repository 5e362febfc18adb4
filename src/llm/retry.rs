//! When to retry a model request and how long to wait: connection errors, 408, 409, 429 and 5xx
//! are retried with exponential backoff and full jitter (0.5 s doubling to 8 s, as openai-python
//! does), and a server's `retry-after-ms` / `Retry-After` wins when it gives one, capped at 60 s.

use std::time::Duration;

/// The longest wait a server may ask for; beyond it the request fails.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub initial: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            initial: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// Statuses worth another try.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..600).contains(&status)
}

/// The wait a server asked for, from `retry-after-ms` (milliseconds) or `Retry-After` (seconds,
/// or an HTTP date such as `Wed, 21 Oct 2026 07:28:00 GMT`, measured from now).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    retry_after_at(headers, time::OffsetDateTime::now_utc())
}

fn retry_after_at(
    headers: &reqwest::header::HeaderMap,
    now: time::OffsetDateTime,
) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    // HTTP-date (IMF-fixdate) is RFC 2822 with the obsolete "GMT" zone, which `time` accepts. A
    // date already past means "now".
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0 for the first retry); `None` when the server
    /// asked for more than [`MAX_RETRY_AFTER`].
    pub fn delay(&self, attempt: u32, server: Option<Duration>, jitter: f64) -> Option<Duration> {
        if let Some(d) = server {
            return (d <= MAX_RETRY_AFTER).then_some(d);
        }
        let base = self.initial.as_secs_f64() * 2f64.powi(attempt.min(20) as i32);
        let capped = base.min(self.max_backoff.as_secs_f64());
        // Jitter in [0.75, 1.0] of the backoff keeps clients that failed together from
        // retrying together, without ever waiting much less than asked.
        Some(Duration::from_secs_f64(
            capped * (1.0 - 0.25 * jitter.clamp(0.0, 1.0)),
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after_takes_an_http_date() {
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sat, 21 Nov 2026 07:28:30 GMT"),
        );
        let now = time::macros::datetime!(2026-11-21 07:28:00 UTC);
        assert_eq!(
            super::retry_after_at(&h, now),
            Some(Duration::from_secs(30))
        );
        let later = time::macros::datetime!(2026-11-21 08:00:00 UTC);
        assert_eq!(super::retry_after_at(&h, later), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(super::retry_after_at(&h, now), None);
    }

    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn statuses() {
        for s in [408, 409, 429, 500, 502, 503, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn server_waits_win_and_are_capped() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3)), 0.5),
            Some(Duration::from_secs(3))
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(61)), 0.5), None);
        h.clear();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&h),
            Some(Duration::ZERO),
            "a past date: retry now"
        );
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, None, 0.0), Some(Duration::from_millis(500)));
        assert_eq!(p.delay(1, None, 0.0), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(10, None, 0.0), Some(Duration::from_secs(8)));
        assert_eq!(p.delay(10, None, 1.0), Some(Duration::from_secs(6)));
    }
}
