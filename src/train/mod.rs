//! Training: the built-in candle LoRA trainer, external trainers, runs and their logs.
