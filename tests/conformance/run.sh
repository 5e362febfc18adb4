#!/usr/bin/env bash
# The conformance suite: the real tools judge assay's outputs. It exports the bundled sample data
# in every format LLaMA-Factory and TRL read through the real `assay` binary and checks that
#   - every export loads through LLaMA-Factory's own `get_dataset` (templates default and qwen)
#     with the exported count and its text in the right places;
#   - `assay train --trainer llamafactory` completes a few steps with its points recorded;
#   - a bundle's train.yaml (`assay train --bundle`) passes LLaMA-Factory's get_train_args and
#     its data folder loads through get_dataset, one example per line;
#   - every Hugging Face folder loads in `datasets` and trains one step in TRL's SFTTrainer;
#   - after a scripted reviewer's decisions and edits (`assay review`), the DPO / KTO folders
#     load through LLaMA-Factory (stages dpo, kto) and the DPO / KTO / stepwise files train one
#     step in TRL's DPOTrainer, KTOTrainer and PRMTrainer;
#   - an adapter from the built-in trainer and the model `assay merge` makes of it load in
#     PEFT / transformers with logits within 1e-3 of assay's;
#   - on tiny Qwen2 (untied, tied) and Qwen3 models that transformers creates, assay's logits
#     match transformers' within 1e-4 and every LoRA gradient PEFT's within 1e-3 (relative), and
#     an adapter assay trains on each loads in PEFT with logits within 1e-3 of assay's.
# It prints a table (check, result) and exits non-zero on any miss.
#
# Environment: ASSAY_CONFORMANCE_VENV (the venv; created when missing, default
# target/conformance-venv), ASSAY_BIN (default: cargo build's target/debug/assay),
# ASSAY_MODEL_PATH (the SmolLM2 GGUF; default: assay's models folder), ASSAY_CONFORMANCE_WORK
# (scratch, default target/conformance). The Qwen checks run `cargo test --test qwen_parity`.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/conformance
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=${ASSAY_CONFORMANCE_VENV:-$TARGET/conformance-venv}
WORK=${ASSAY_CONFORMANCE_WORK:-$TARGET/conformance}
HOME_DIR=${ASSAY_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/assay}
GGUF=${ASSAY_MODEL_PATH:-$HOME_DIR/models/SmolLM2-135M-Instruct.Q4_1.gguf}
RESULTS=$WORK/results.jsonl
START=$(date +%s)

die() { echo "conformance: $*" >&2; exit 2; }
[ -f "$GGUF" ] || die "no model at $GGUF (run \`assay model fetch\` or set ASSAY_MODEL_PATH)"

echo "== conformance: venv $VENV"
if ! "$VENV/bin/python" -c "import llamafactory, trl, peft, datasets, gguf" 2>/dev/null; then
    python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir -r "$HERE/requirements.txt" \
        || die "pip install failed"
fi
PY=$VENV/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 DISABLE_VERSION_CHECK=1
export TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export HF_HOME=$WORK/hf-home

if [ -z "${ASSAY_BIN:-}" ]; then
    cargo build --quiet || die "cargo build failed"
    ASSAY_BIN=$TARGET/debug/assay
fi
rm -rf "$WORK" && mkdir -p "$WORK"
: > "$RESULTS"
record() { # check ok detail
    "$PY" -c 'import json,sys; print(json.dumps({"check": sys.argv[1], "ok": sys.argv[2] == "1", "detail": sys.argv[3]}, ensure_ascii=False))' "$1" "$2" "$3" >> "$RESULTS"
}

echo "== model folder from the GGUF (two conversion pitfalls fixed)"
MODEL=${ASSAY_CONFORMANCE_MODEL:-$TARGET/conformance-model}
if [ ! -f "$MODEL/config.json" ]; then
    "$PY" "$HERE/make_model.py" "$GGUF" "$MODEL" || die "building the model folder failed"
fi

echo "== the bundled sample data, exported by assay"
DB=$WORK/assay.db
assay() { "$ASSAY_BIN" --db "$DB" --reviewer conformance "$@"; }
assay demo --no-tui --no-model > "$WORK/demo.log" || die "assay demo failed: $(tail -3 "$WORK/demo.log")"
DATASETS="alpaca-qa cot-math logic-mc xtuner-dialogues agent-trajectories docs"
mkdir -p "$WORK/lf" "$WORK/files" "$WORK/hf"
# `written N` of an export's summary line: what the export says it wrote.
written() { sed -n 's/^\([0-9]*\) samples written.*/\1/p' "$1" | head -1; }
export_one() { # dataset target out
    local log="$WORK/export-$1-$2.log" rc=0
    assay export --dataset "$1" --format "$2" --out "$3" --all --force "conformance suite" \
        --license cc-by-4.0 > "$log" 2>&1 || rc=$?
    # 4: nothing written (every sample skipped for this target, each with its reason): no
    # file to check, not a failure.
    [ "$rc" = 4 ] && return 1
    if [ "$rc" != 0 ]; then
        record "export $1 as $2" 0 "$(tail -1 "$log")"
        return 1
    fi
}
CHECKS=$WORK/lf-checks.json
echo "[" > "$CHECKS"
sep=""
add_check() { # check dataset_dir dataset stage expect file format
    printf '%s{"check": "%s", "dataset_dir": "%s", "dataset": "%s", "stage": "%s", "expect": %s, "file": "%s", "format": "%s"}\n' \
        "$sep" "$1" "$2" "$3" "$4" "${5:-0}" "$6" "$7" >> "$CHECKS"
    sep=","
}
for d in $DATASETS; do
    # The LLaMA-Factory folder, with its own dataset_info.json.
    if export_one "$d" llamafactory "$WORK/lf/$d"; then
        name=$(echo "$d" | tr -c 'A-Za-z0-9_\n-' _)
        if [ -f "$WORK/lf/$d/$name.jsonl" ]; then
            n=$(wc -l < "$WORK/lf/$d/$name.jsonl")
            add_check "lf $d: llamafactory folder" "$WORK/lf/$d" "$name" sft "$n" "$WORK/lf/$d/$name.jsonl" sharegpt
        fi
        if [ -f "$WORK/lf/$d/${name}_pretrain.jsonl" ]; then
            add_check "lf $d: llamafactory folder (pretrain)" "$WORK/lf/$d" "${name}_pretrain" pt 0 "$WORK/lf/$d/${name}_pretrain.jsonl" pretrain
        fi
    fi
    # Single files in the formats LLaMA-Factory reads, each with the dataset_info.json entry
    # FORMATS.md gives for it.
    for fmt in alpaca sharegpt openai pretrain; do
        out=$WORK/files/$d/$fmt.jsonl
        mkdir -p "$WORK/files/$d"
        export_one "$d" "$fmt" "$out" || continue
        n=$(written "$WORK/export-$d-$fmt.log")
        [ "${n:-0}" -gt 0 ] || continue
        stage=sft
        [ "$fmt" = pretrain ] && stage=pt
        kind=$fmt
        # Pre-training samples go out as `{"text"}` rows in Alpaca too (FORMATS.md).
        if [ "$fmt" = alpaca ] && "$PY" -c 'import json,sys; sys.exit(0 if "text" in json.loads(open(sys.argv[1]).readline()) else 1)' "$out"; then
            stage=pt
            kind=pretrain
        fi
        add_check "lf $d: $fmt file" "$WORK/files/$d" "$fmt" "$stage" "$n" "$out" "$kind"
    done
    "$PY" - "$WORK/files/$d" <<'EOF'
import json, os, sys
info = {
    "alpaca": {"file_name": "alpaca.jsonl", "columns": {"prompt": "instruction", "query": "input",
               "response": "output", "system": "system", "history": "history"}},
    "sharegpt": {"file_name": "sharegpt.jsonl", "formatting": "sharegpt",
                 "columns": {"messages": "conversations", "system": "system", "tools": "tools"}},
    "openai": {"file_name": "openai.jsonl", "formatting": "openai", "columns": {"messages": "messages"},
               "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                        "assistant_tag": "assistant", "system_tag": "system", "observation_tag": "tool"}},
    "pretrain": {"file_name": "pretrain.jsonl", "columns": {"prompt": "text"}},
}
alpaca = os.path.join(sys.argv[1], "alpaca.jsonl")
if os.path.exists(alpaca) and os.path.getsize(alpaca) and "text" in json.loads(open(alpaca).readline()):
    info["alpaca"]["columns"] = {"prompt": "text"}
json.dump(info, open(sys.argv[1] + "/dataset_info.json", "w"), indent=1)
EOF
    export_one "$d" hf "$WORK/hf/$d" || true
done
echo "]" >> "$CHECKS"

echo "== LLaMA-Factory get_dataset"
"$PY" "$HERE/lf_load.py" "$MODEL" "$CHECKS" >> "$RESULTS" 2> "$WORK/lf_load.err"

echo "== Hugging Face folders: datasets + TRL SFTTrainer"
"$PY" "$HERE/hf_check.py" "$MODEL" "$WORK"/hf/* >> "$RESULTS" 2> "$WORK/hf_check.err"

echo "== review decisions through \`assay review\` (a scripted reviewer)"
# Training and the preference exports take what reviewers decided. A scripted reviewer: in
# cot-math, samples whose verifiers fail are rejected; in alpaca-qa, the first four answers are
# rejected, edited and the edits accepted; everything else is accepted.
ids() { # dataset [verdict...]: sample ids
    "$PY" - "$DB" "$@" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
q = "SELECT s.id FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = ?"
if len(sys.argv) > 3:
    q += " AND s.verdict IN (%s)" % ",".join("?" * (len(sys.argv) - 3))
print(" ".join(str(r[0]) for r in db.execute(q + " ORDER BY s.id", sys.argv[2:])))
EOF
}
answer_of() { # sample id: its head answer
    "$PY" - "$DB" "$1" <<'EOF'
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
(c,) = db.execute("SELECT r.content FROM samples s JOIN revisions r ON r.id = s.head_revision_id"
                  " WHERE s.id = ?", (int(sys.argv[2]),)).fetchone()
turns = [t for t in json.loads(c)["turns"] if t["role"] == "assistant"]
print(turns[-1]["content"])
EOF
}
review_log=$WORK/review.log
: > "$review_log"
reviewed=1
bad=$(ids cot-math fail mixed)
good=$(ids cot-math pass none)
[ -n "$bad" ] && { assay review reject $bad --reason "the verifier's wrong step holds" >> "$review_log" 2>&1 || reviewed=0; }
[ -n "$good" ] && { assay review accept $good >> "$review_log" 2>&1 || reviewed=0; }
for id in $(ids alpaca-qa | tr ' ' '\n' | head -4); do
    old=$(answer_of "$id")
    assay review reject "$id" --reason "incomplete" >> "$review_log" 2>&1 || reviewed=0
    assay review edit "$id" --answer "$old（复核补充：以上说法已对照原文核实。）" >> "$review_log" 2>&1 || reviewed=0
done
for d in alpaca-qa logic-mc xtuner-dialogues agent-trajectories docs; do
    list=$(ids "$d")
    [ -n "$list" ] && { assay review accept $list >> "$review_log" 2>&1 || reviewed=0; }
done
record "assay review: scripted decisions and edits" "$reviewed" "$(grep -c '^sample' "$review_log") decisions and edits; $(tail -1 "$review_log")"

echo "== preference exports (DPO, KTO, stepwise) in LLaMA-Factory and TRL"
PREF=$WORK/pref
mkdir -p "$PREF"
pref_ok=1
pref() { # dataset-or-"" format out
    local ds=()
    [ -n "$1" ] && ds=(--dataset "$1")
    assay export "${ds[@]}" --format "$2" --out "$3" --force "conformance suite" \
        > "$PREF/export-$2.log" 2>&1 || { pref_ok=0; record "export $2" 0 "$(tail -1 "$PREF/export-$2.log")"; }
}
pref alpaca-qa llamafactory-dpo "$PREF/lf-dpo"
pref "" llamafactory-kto "$PREF/lf-kto"
pref alpaca-qa dpo "$PREF/dpo.jsonl"
pref "" kto "$PREF/kto.jsonl"
pref cot-math stepwise "$PREF/stepwise.jsonl"
if [ "$pref_ok" = 1 ]; then
    "$PY" "$HERE/pref_check.py" "$MODEL" "$PREF/lf-dpo" "$PREF/lf-kto" "$PREF/dpo.jsonl" \
        "$PREF/kto.jsonl" "$PREF/stepwise.jsonl" >> "$RESULTS" 2> "$WORK/pref_check.err"
fi

echo "== assay train --trainer llamafactory"
for d in xtuner-dialogues agent-trajectories; do
    log=$WORK/train-lf-$d.log
    if assay train --dataset "$d" --trainer llamafactory --model "$MODEL" --template qwen \
        --program "$VENV/bin/llamafactory-cli" --max-steps 3 --logging-steps 1 \
        --eval-fraction 0 --set cutoff_len=256 --set bf16=false --set fp16=false \
        --force "conformance suite" > "$log" 2>&1; then
        id=$(assay runs list --json | "$PY" -c 'import json,sys; print(max(r["id"] for r in json.load(sys.stdin)))')
        assay runs show "$id" --points > "$WORK/run-$id.json"
        "$PY" - "$WORK/run-$id.json" "$d" >> "$RESULTS" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
pts = run.get("points") or []
ok = run.get("status") == "completed" and len(pts) >= 3
print(json.dumps({"check": f"assay train --trainer llamafactory: {sys.argv[2]}", "ok": ok,
                  "detail": f"run {run.get('id')} {run.get('status')}, {len(pts)} points"}))
EOF
    else
        record "assay train --trainer llamafactory: $d" 0 "$(tail -1 "$log")"
    fi
done

echo "== a bundle (assay train --bundle) through LLaMA-Factory's own parser and data loader"
BUNDLE=$WORK/bundle
if assay train --dataset xtuner-dialogues --trainer llamafactory --model "$MODEL" --template qwen \
    --lr 2e-5 --max-steps 3 --eval-fraction 0 --set bf16=false --set fp16=false \
    --bundle "$BUNDLE" --force "conformance suite" > "$WORK/bundle.log" 2>&1; then
    (cd "$BUNDLE" && "$PY" "$HERE/lf_bundle.py") >> "$RESULTS" 2> "$WORK/lf_bundle.err"
else
    record "bundle: assay train --bundle" 0 "$(tail -1 "$WORK/bundle.log")"
fi

echo "== built-in adapter and merged model in PEFT / transformers"
LORA=$WORK/lora
MERGED=$WORK/merged
if assay train --dataset alpaca-qa --base "$MODEL" --out "$LORA" --max-steps 3 --batch-size 1 \
    --max-seq-len 96 --lr 0.01 --eval-fraction 0 --force "conformance suite" > "$WORK/train-builtin.log" 2>&1 \
    && assay merge --adapter "$LORA" --out "$MERGED" --probe "What is LoRA? 1234" > "$WORK/merge.log" 2>&1; then
    "$PY" "$HERE/peft_check.py" "$LORA" "$MERGED" >> "$RESULTS" 2> "$WORK/peft_check.err"
else
    record "built-in adapter + assay merge" 0 "$(tail -1 "$WORK/train-builtin.log" "$WORK/merge.log" 2>/dev/null | tail -1)"
fi

echo "== the Qwen family: tiny transformers models against assay's trainer"
QWEN=$WORK/qwen
QWEN_CASES="qwen2 qwen2-tied qwen3"
mkdir -p "$QWEN"
if "$PY" "$HERE/qwen_check.py" make "$QWEN" "$MODEL" 2> "$WORK/qwen_make.err"; then
    # assay's side: logits, loss and LoRA gradients of the same models and adapters.
    if ASSAY_QWEN_PARITY_DIR=$QWEN cargo test --quiet --test qwen_parity -- --ignored \
        > "$WORK/qwen_parity.log" 2>&1; then
        "$PY" "$HERE/qwen_check.py" compare "$QWEN" >> "$RESULTS" 2> "$WORK/qwen_check.err"
    else
        record "qwen: assay's logits and gradients (cargo test --test qwen_parity)" 0 \
            "$(grep -m1 -E 'error|panicked' "$WORK/qwen_parity.log" || tail -1 "$WORK/qwen_parity.log")"
    fi
    # A few steps of the built-in trainer on each, the adapter in PEFT, the merge in transformers.
    for c in $QWEN_CASES; do
        dir=$QWEN/$c
        if assay train --dataset alpaca-qa --base "$dir/model" --out "$dir/lora" --max-steps 3 \
            --batch-size 1 --max-seq-len 96 --lr 0.01 --eval-fraction 0 --force "conformance suite" \
            > "$dir/train.log" 2>&1 \
            && assay merge --adapter "$dir/lora" --out "$dir/merged" --probe "What is LoRA? 1234" \
            > "$dir/merge.log" 2>&1; then
            "$PY" "$HERE/peft_check.py" "$dir/lora" "$dir/merged" "$c: " >> "$RESULTS" \
                2>> "$WORK/peft_check.err"
        else
            record "$c: assay train + assay merge" 0 "$(tail -1 "$dir/train.log" "$dir/merge.log" 2>/dev/null | tail -1)"
        fi
    done
else
    record "qwen: tiny models made by transformers" 0 "$(tail -1 "$WORK/qwen_make.err")"
fi

echo
"$PY" - "$RESULTS" "$(( $(date +%s) - START ))" <<'EOF'
import json, sys
# The tools print their own lines to stdout too; the results are the objects with a "check".
rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if isinstance(r, dict) and "check" in r and "ok" in r:
        rows.append(r)
w = max([len(r["check"]) for r in rows] + [5])
print(f"{'check':<{w}}  result")
print(f"{'-' * w}  ------")
for r in rows:
    print(f"{r['check']:<{w}}  {'pass' if r['ok'] else 'FAIL'}  {r['detail']}")
bad = sum(not r["ok"] for r in rows)
print(f"\n{len(rows) - bad} of {len(rows)} checks pass ({sys.argv[2]} s)")
sys.exit(1 if bad or not rows else 0)
EOF
