"""Checks a bundle from `assay train --bundle` with LLaMA-Factory itself, run from the bundle's
folder as launch.sh does: train.yaml loads with PyYAML (what LLaMA-Factory reads it with) into
the types it needs (a learning rate of 2e-05 must be a float, not the string PyYAML makes of
`2e-05`), its own argument parser `get_train_args` accepts it, and `get_dataset` turns the
bundle's data folder into one example per line.

usage: (cd BUNDLE && lf_bundle.py)
Prints one JSON result per check: {"check", "ok", "detail"}.
"""
import json
import os
import sys
import traceback

import yaml

os.environ.setdefault("DISABLE_VERSION_CHECK", "1")


def result(check, ok, detail):
    print(json.dumps({"check": check, "ok": ok, "detail": detail}, ensure_ascii=False), flush=True)


def main():
    with open("train.yaml", encoding="utf-8") as f:
        args = yaml.safe_load(f)
    lr = args.get("learning_rate")
    result("bundle: train.yaml types in PyYAML", isinstance(lr, float) and isinstance(args.get("lora_rank"), int),
           f"learning_rate {lr!r} ({type(lr).__name__})")
    try:
        from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
        from llamafactory.hparams import get_train_args
        from llamafactory.model import load_tokenizer

        model_args, data_args, training_args, _, _ = get_train_args(dict(args))
        result("bundle: train.yaml in LLaMA-Factory's get_train_args", True,
               f"lr {training_args.learning_rate}, max_steps {training_args.max_steps}, "
               f"dataset {data_args.dataset}")
        tm = load_tokenizer(model_args)
        tmpl = get_template_and_fix_tokenizer(tm["tokenizer"], data_args)
        ds = get_dataset(tmpl, model_args, data_args, training_args, "sft", **tm)
        n = len(ds["train_dataset"]) + (len(ds["eval_dataset"]) if ds.get("eval_dataset") else 0)
        info = json.load(open(os.path.join(args["dataset_dir"], "dataset_info.json")))
        file = os.path.join(args["dataset_dir"], info[args["dataset"]]["file_name"])
        lines = sum(1 for line in open(file, encoding="utf-8") if line.strip())
        result("bundle: its data folder in get_dataset", n == lines, f"{n} examples, {lines} lines")
    except BaseException as e:  # SystemExit too: LLaMA-Factory exits on bad arguments
        traceback.print_exc(file=sys.stderr)
        result("bundle: train.yaml in LLaMA-Factory", False, f"{type(e).__name__}: {e}".splitlines()[0][:200])


if __name__ == "__main__":
    main()
