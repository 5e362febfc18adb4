//! The review-sample rule (at least 100 random samples) and its statistics.
