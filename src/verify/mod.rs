//! Verifiers: golden-answer match, LLM judge, trajectory checks.
