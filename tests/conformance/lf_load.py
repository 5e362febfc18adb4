"""Loads assay's exports through LLaMA-Factory's own data pipeline (`get_dataset`), as
`llamafactory-cli train` would, without training, and checks them: every exported row becomes
one example (LLaMA-Factory drops broken rows silently), and the text of the first rows (with a
system prompt, with tools) lands where it belongs: system and question in the prompt part,
the answer in the part that is trained on (labels).

usage: lf_load.py MODEL_DIR CHECKS.json
CHECKS.json: [{"check", "dataset_dir", "dataset", "stage": "sft"|"pt", "expect", "file",
               "format": "alpaca"|"sharegpt"|"openai"|"pretrain", "templates": [...]}]
Prints one JSON result per check and template: {"check", "ok", "detail"}.
"""
import json
import os
import sys
import tempfile
import traceback

os.environ.setdefault("DISABLE_VERSION_CHECK", "1")


def rows(path):
    with open(path, encoding="utf-8") as f:
        if path.endswith(".jsonl"):
            return [json.loads(line) for line in f if line.strip()]
        return json.load(f)


def probe(fmt, row):
    """(prompt texts, answer texts) a row's example must show, in the exported layout."""
    cut = lambda s: s.strip()[:24]
    if fmt == "alpaca":
        prompt = [row["instruction"], row.get("system", "")]
        return [cut(p) for p in prompt if p.strip()], [cut(row["output"])]
    if fmt == "pretrain":
        return [cut(row["text"])], []
    if fmt == "sharegpt":
        conv = row["conversations"]
        prompt = [row.get("system", ""), conv[0]["value"]]
        if row.get("tools"):
            prompt += [t["name"] for t in json.loads(row["tools"])]
        answer = conv[-1]["value"]
        return [cut(p) for p in prompt if p.strip()], [cut(answer)]
    if fmt == "openai":
        msgs = row["messages"]
        prompt = [m["content"] for m in msgs if m["role"] in ("system", "user")][:2]
        return [cut(p) for p in prompt if p.strip()], [cut(msgs[-1]["content"])]
    raise ValueError(fmt)


def picks(fmt, all_rows):
    """The first row, the first with a system prompt and the first with tools."""
    out = {0}
    for i, r in enumerate(all_rows):
        if r.get("system") or (fmt == "openai" and r["messages"][0]["role"] == "system"):
            out.add(i)
            break
    for i, r in enumerate(all_rows):
        if r.get("tools"):
            out.add(i)
            break
    return sorted(out)


def run_one(model_dir, c, template, work):
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    args = dict(
        model_name_or_path=model_dir, stage=c["stage"], do_train=True, finetuning_type="lora",
        dataset=c["dataset"], dataset_dir=c["dataset_dir"], template=template,
        cutoff_len=4096, output_dir=os.path.join(work, "out"), overwrite_output_dir=True,
        overwrite_cache=True, report_to="none", bf16=False, fp16=False,
        per_device_train_batch_size=1,
    )
    model_args, data_args, training_args, _, _ = get_train_args(args)
    tm = load_tokenizer(model_args)
    tok = tm["tokenizer"]
    tmpl = get_template_and_fix_tokenizer(tok, data_args)
    ds = get_dataset(tmpl, model_args, data_args, training_args, c["stage"], **tm)["train_dataset"]
    n = len(ds)
    if c["stage"] == "pt":
        if n < 1:
            return False, "no pre-training block"
        text = tok.decode(ds[0]["input_ids"])
        want = probe("pretrain", rows(c["file"])[0])[0]
        if not all(w in text for w in want):
            return False, f"first block lacks {want}"
        return True, f"{n} blocks"
    if n != c["expect"]:
        return False, f"{n} examples, exported {c['expect']}"
    all_rows = rows(c["file"])
    for i in picks(c["format"], all_rows):
        ex = ds[i]
        ids, labels = ex["input_ids"], ex["labels"]
        prompt = tok.decode([t for t, l in zip(ids, labels) if l == -100])
        answer = tok.decode([t for t, l in zip(ids, labels) if l != -100])
        want_p, want_a = probe(c["format"], all_rows[i])
        for w in want_p:
            if w not in prompt:
                return False, f"row {i}: {w!r} not in the prompt part"
        for w in want_a:
            if w not in answer:
                return False, f"row {i}: {w!r} not in the trained part"
    return True, f"{n} examples"


def main():
    model_dir, checks = sys.argv[1], json.load(open(sys.argv[2]))
    work = tempfile.mkdtemp(prefix="lf-load-")
    for c in checks:
        for template in c.get("templates", ["default", "qwen"]):
            try:
                ok, detail = run_one(model_dir, c, template, work)
            except BaseException as e:  # SystemExit too: LF stops with "Cannot find valid samples"
                ok, detail = False, f"{type(e).__name__}: {e}".splitlines()[0][:200]
                traceback.print_exc(file=sys.stderr)
            print(json.dumps({"check": f"{c['check']} [{template}]", "ok": ok, "detail": detail},
                             ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
