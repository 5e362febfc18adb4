"""Checks Hugging Face dataset folders written by `assay export --format hf` with the real
tools: each config loads in `datasets` from the card's YAML with every exported row, `tools`
is a string column (not an Arrow union), no column became a timestamp, the card has license,
language and task_categories, and one step of TRL's SFTTrainer runs on it.

usage: hf_check.py MODEL_DIR HF_FOLDER...
Prints one JSON result per folder: {"check", "ok", "detail"}.
"""
import json
import os
import sys
import tempfile
import traceback


def card_meta(folder):
    import yaml

    text = open(os.path.join(folder, "README.md"), encoding="utf-8").read()
    assert text.startswith("---\n"), "the card has no YAML front matter"
    return yaml.safe_load(text.split("---\n")[1])


def lines(path):
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def check(model_dir, folder, work):
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    meta = card_meta(folder)
    for key in ("license", "language", "task_categories"):
        assert meta.get(key), f"card metadata lacks {key}"
    details = []
    for cfg in meta["configs"]:
        name = cfg["config_name"]
        path = os.path.join(folder, cfg["data_files"][0]["path"])
        want = lines(path)
        ds = datasets.load_dataset(folder, name, split="train")
        assert len(ds) == want, f"{name}: {len(ds)} rows loaded, {want} exported"
        for col, feat in ds.features.items():
            assert "timestamp" not in str(feat), f"{name}: column {col} became {feat}"
        if "tools" in ds.features:
            assert str(ds.features["tools"]) .startswith("Value('string'") or \
                getattr(ds.features["tools"], "dtype", "") == "string", \
                f"tools is {ds.features['tools']}, not a string column"
        keep = [c for c in ds.column_names if c in ("messages", "text", "tools")]
        ds = ds.select_columns(keep).select(range(min(len(ds), 4)))
        if "tools" in keep:
            # A string column for Arrow; the chat template takes the decoded list, as the card says.
            ds = ds.map(lambda r: {"tools": json.loads(r["tools"]) if r["tools"] else None})
        tok = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        args = SFTConfig(
            output_dir=os.path.join(work, name), max_steps=1, per_device_train_batch_size=1,
            max_length=256, report_to=[], bf16=False, fp16=False, use_cpu=True,
            logging_steps=1, save_strategy="no", dataloader_num_workers=0,
        )
        trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok,
                             peft_config=LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
        out = trainer.train()
        loss = out.training_loss
        assert loss == loss and loss > 0, f"{name}: loss {loss}"
        details.append(f"{name}: {want} rows, 1 SFT step loss {loss:.3f}")
    return "; ".join(details)


def main():
    model_dir, folders = sys.argv[1], sys.argv[2:]
    work = tempfile.mkdtemp(prefix="hf-check-")
    for folder in folders:
        name = f"hf {os.path.basename(folder.rstrip('/'))}: datasets + TRL SFT"
        try:
            ok, detail = True, check(model_dir, folder, work)
        except BaseException as e:
            ok, detail = False, f"{type(e).__name__}: {e}".splitlines()[0][:200]
            traceback.print_exc(file=sys.stderr)
        print(json.dumps({"check": name, "ok": ok, "detail": detail}, ensure_ascii=False),
              flush=True)


if __name__ == "__main__":
    main()
