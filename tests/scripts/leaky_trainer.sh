#!/bin/sh
# Stands in for a careless training script in tests: prints the secrets in its environment and
# a key of its own (on stdout and stderr), among Hugging Face Trainer log lines, then fails.
echo "logging in with HF_TOKEN=$HF_TOKEN"
echo "wandb: using key $WANDB_API_KEY" >&2
echo "{'loss': 1.5, 'learning_rate': 0.0001, 'epoch': 0.5}"
echo "openai client ready (api_key='sk-leaky-trainer-canary-5c0ffee0d15ea5e')"
echo "{'loss': 1.25, 'learning_rate': 0.0001, 'epoch': 1.0}"
echo "Traceback: token $HF_TOKEN rejected" >&2
exit 3
