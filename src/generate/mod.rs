//! Generation pipelines: questions, grounded answers, CoT search, answer/evaluate; jobs.
