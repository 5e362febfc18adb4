"""Checks assay's preference exports with the real tools:
- a `llamafactory-dpo` folder loads through LLaMA-Factory's `get_dataset` (stage dpo) with one
  pair per exported row, the chosen answer in `chosen_labels` and the rejected one in
  `rejected_labels`;
- a `llamafactory-kto` folder loads (stage kto) with one example per row and the rows' labels
  as `kto_tags`;
- TRL's DPOTrainer, KTOTrainer and PRMTrainer each run one step on the `dpo`, `kto` and
  `stepwise` files.

usage: pref_check.py MODEL_DIR LF_DPO_DIR LF_KTO_DIR DPO.jsonl KTO.jsonl STEPWISE.jsonl
Prints one JSON result per check: {"check", "ok", "detail"}.
"""
import json
import os
import sys
import tempfile
import traceback

os.environ.setdefault("DISABLE_VERSION_CHECK", "1")


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def only_entry(folder):
    info = json.load(open(os.path.join(folder, "dataset_info.json"), encoding="utf-8"))
    (name, entry), = info.items()
    return name, os.path.join(folder, entry["file_name"])


def lf_dataset(model_dir, folder, stage, template, work, data_stage=None):
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    name, _ = only_entry(folder)
    args = dict(
        model_name_or_path=model_dir, stage=stage, do_train=True, finetuning_type="lora",
        dataset=name, dataset_dir=folder, template=template, cutoff_len=2048,
        output_dir=os.path.join(work, "out"), overwrite_output_dir=True, overwrite_cache=True,
        report_to="none", bf16=False, fp16=False, per_device_train_batch_size=1,
    )
    model_args, data_args, training_args, finetuning_args, _ = get_train_args(args)
    tm = load_tokenizer(model_args)
    tmpl = get_template_and_fix_tokenizer(tm["tokenizer"], data_args)
    # As LF's own workflows call it: DPO reads its pairs through the "rm" data stage.
    ds = get_dataset(tmpl, model_args, data_args, training_args, data_stage or stage,
                     **tm)["train_dataset"]
    return ds, tm["tokenizer"]


def trained(tok, ids, labels):
    return tok.decode([t for t, l in zip(ids, labels) if l != -100])


def lf_dpo(model_dir, folder, template, work):
    ds, tok = lf_dataset(model_dir, folder, "dpo", template, work, data_stage="rm")
    _, path = only_entry(folder)
    want = rows(path)
    if len(ds) != len(want):
        return False, f"{len(ds)} pairs, exported {len(want)}"
    for i in range(min(3, len(ds))):
        ex = ds[i]
        chosen = trained(tok, ex["chosen_input_ids"], ex["chosen_labels"])
        rejected = trained(tok, ex["rejected_input_ids"], ex["rejected_labels"])
        c, r = want[i]["chosen"]["value"].strip()[:20], want[i]["rejected"]["value"].strip()[:20]
        if c not in chosen or r not in rejected:
            return False, f"pair {i}: chosen/rejected text not where LF trains on it"
    return True, f"{len(ds)} pairs"


def lf_kto(model_dir, folder, template, work):
    ds, _ = lf_dataset(model_dir, folder, "kto", template, work)
    _, path = only_entry(folder)
    want = rows(path)
    if len(ds) != len(want):
        return False, f"{len(ds)} examples, exported {len(want)}"
    tags = [bool(t) for t in ds["kto_tags"]]
    if tags != [r["kto_tag"] for r in want]:
        return False, "kto_tags differ from the exported labels"
    return True, f"{len(ds)} examples ({sum(tags)} desirable, {len(tags) - sum(tags)} not)"


def lora():
    from peft import LoraConfig

    return LoraConfig(r=4, target_modules=["q_proj", "v_proj"])


def common(work, name):
    return dict(
        output_dir=os.path.join(work, name), max_steps=1, per_device_train_batch_size=2,
        report_to=[], bf16=False, fp16=False, use_cpu=True, logging_steps=1,
        save_strategy="no", dataloader_num_workers=0,
    )


def load(model_dir, path):
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ds = datasets.load_dataset("json", data_files=path, split="train")
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    # TRL 0.24's DPO and KTO trainers set `model.warnings_issued[...]`, an attribute
    # transformers 5 no longer has (a mismatch of the two tools, not of the data).
    if not hasattr(model, "warnings_issued"):
        model.warnings_issued = {}
    return ds, tok, model


def loss_of(out, what):
    loss = out.training_loss
    assert loss == loss, f"{what}: loss is NaN"
    return loss


def trl_dpo(model_dir, path, work):
    from trl import DPOConfig, DPOTrainer

    ds, tok, model = load(model_dir, path)
    n = len(ds)
    args = DPOConfig(max_length=256, **common(work, "dpo"))
    t = DPOTrainer(model=model, args=args, train_dataset=ds.select(range(min(n, 4))),
                   processing_class=tok, peft_config=lora())
    return True, f"{n} pairs, 1 DPO step loss {loss_of(t.train(), 'dpo'):.3f}"


def trl_kto(model_dir, path, work):
    from trl import KTOConfig, KTOTrainer

    ds, tok, model = load(model_dir, path)
    n, good = len(ds), sum(ds["label"])
    assert 0 < good < n, f"{good} desirable of {n}: KTO needs both"
    # Both labels in the step's batch.
    pick = [next(i for i, l in enumerate(ds["label"]) if l),
            next(i for i, l in enumerate(ds["label"]) if not l)]
    args = KTOConfig(max_length=256, **common(work, "kto"))
    t = KTOTrainer(model=model, args=args, train_dataset=ds.select(pick), processing_class=tok,
                   peft_config=lora())
    return True, f"{n} examples ({good} desirable), 1 KTO step loss {loss_of(t.train(), 'kto'):.3f}"


def trl_stepwise(model_dir, path, work):
    import datasets
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    try:
        from trl import PRMConfig, PRMTrainer
    except ImportError:
        from trl.experimental.prm import PRMConfig, PRMTrainer

    ds = datasets.load_dataset("json", data_files=path, split="train")
    n = len(ds)
    labels = [l for r in ds["labels"] for l in r]
    assert True in labels and False in labels, "stepwise labels are all one value"
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir, num_labels=2,
                                                            dtype=torch.float32)
    args = PRMConfig(max_length=256, **common(work, "prm"))
    t = PRMTrainer(model=model, args=args, train_dataset=ds.select(range(min(n, 4))),
                   processing_class=tok, peft_config=lora())
    return True, f"{n} rows, {len(labels)} step labels, 1 PRM step loss {loss_of(t.train(), 'prm'):.3f}"


def main():
    model_dir, lf_dpo_dir, lf_kto_dir, dpo, kto, stepwise = sys.argv[1:7]
    work = tempfile.mkdtemp(prefix="pref-check-")
    checks = []
    for template in ("default", "qwen"):
        checks.append((f"lf llamafactory-dpo: get_dataset dpo [{template}]",
                       lambda t=template: lf_dpo(model_dir, lf_dpo_dir, t, work)))
        checks.append((f"lf llamafactory-kto: get_dataset kto [{template}]",
                       lambda t=template: lf_kto(model_dir, lf_kto_dir, t, work)))
    checks += [
        ("trl dpo: DPOTrainer", lambda: trl_dpo(model_dir, dpo, work)),
        ("trl kto: KTOTrainer", lambda: trl_kto(model_dir, kto, work)),
        ("trl stepwise: PRMTrainer", lambda: trl_stepwise(model_dir, stepwise, work)),
    ]
    for name, run in checks:
        try:
            ok, detail = run()
        except BaseException as e:  # SystemExit too: LF stops with "Cannot find valid samples"
            ok, detail = False, f"{type(e).__name__}: {e}".splitlines()[0][:200]
            traceback.print_exc(file=sys.stderr)
        print(json.dumps({"check": name, "ok": ok, "detail": detail}, ensure_ascii=False),
              flush=True)


if __name__ == "__main__":
    main()
