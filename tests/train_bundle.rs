//! `assay train --trainer llamafactory --bundle DIR` on the real binary: every file of the bundle
//! checked. The YAML files parse (serde_norway) and train.yaml says what a local run's says; the
//! dataset folder holds the run's samples; launch.sh, train.sbatch and sky.yaml's `run` are run
//! with fake `torchrun` / `srun` / `scontrol` / `llamafactory-cli` on PATH that print their
//! arguments, under the environment each scheduler gives; the DeepSpeed files carry their ZeRO
//! stage; modes are 0755/0644 under a 077 umask; no secret from the environment is in any file.
//! The run is recorded as external and listed.

use assay::model::Decision;
use assay::store::{Filter, RunStatus, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HF_CANARY: &str = "hf_bundlecanary0123456789abcdefXYZ";
const OPENAI_CANARY: &str = "sk-bundle-canary-0123456789abcdef";

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    /// The demo data with six accepted samples of `alpaca-qa`.
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let env = Env { dir, db };
        ok(&env.assay(&["demo", "--no-tui", "--no-model"]));
        let mut store = Store::open(&env.db).unwrap();
        let ds = store.require_dataset("alpaca-qa").unwrap();
        for r in store.list_page(&Filter::dataset(ds), None, 6).unwrap() {
            let rev = store.sample(r.id).unwrap().head.id;
            store
                .add_review(r.id, rev, "tester", Decision::Accept, "")
                .unwrap();
        }
        env
    }

    /// The binary under a 077 umask, with secrets in its environment.
    fn assay(&self, args: &[&str]) -> Output {
        Command::new("sh")
            .arg("-c")
            .arg("umask 077; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_assay"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("USER", "tester")
            .env("HF_TOKEN", HF_CANARY)
            .env("OPENAI_API_KEY", OPENAI_CANARY)
            .output()
            .unwrap()
    }
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A folder of fake programs that print their arguments (`arg=...`), working folder and the
/// launch variables, one a line.
fn fakes(root: &Path) -> PathBuf {
    let bin = root.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let report = "#!/bin/sh\necho \"prog=$(basename \"$0\")\"\necho \"cwd=$(pwd -P)\"\n\
        for v in NNODES NODE_RANK MASTER_ADDR MASTER_PORT NPROC_PER_NODE FORCE_TORCHRUN; do \
        eval \"echo env.$v=\\${$v:-}\"; done\nfor a in \"$@\"; do echo \"arg=$a\"; done\n";
    for name in ["torchrun", "llamafactory-cli"] {
        std::fs::write(bin.join(name), report).unwrap();
    }
    // srun: drops its own options, then runs the command as task 1 of the job.
    std::fs::write(
        bin.join("srun"),
        "#!/bin/sh\nwhile [ \"${1#--}\" != \"$1\" ]; do shift; done\n\
         SLURM_NODEID=1 exec \"$@\"\n",
    )
    .unwrap();
    std::fs::write(
        bin.join("scontrol"),
        "#!/bin/sh\n[ \"$1 $2\" = \"show hostnames\" ] || exit 2\nprintf 'node-a\\nnode-b\\n'\n",
    )
    .unwrap();
    for f in std::fs::read_dir(&bin).unwrap() {
        let p = f.unwrap().path();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Runs `script` (with bash, from `cwd`) with the fakes first on PATH and only `vars` of the
/// launch variables set; returns its report as key=value pairs and the list of arguments.
fn launch(
    bin: &Path,
    cwd: &Path,
    script: &[&str],
    vars: &[(&str, &str)],
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut c = Command::new("bash");
    c.args(script)
        .current_dir(cwd)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .envs(vars.iter().copied());
    for v in [
        "NNODES",
        "NODE_RANK",
        "MASTER_ADDR",
        "MASTER_PORT",
        "NPROC_PER_NODE",
        "FORCE_TORCHRUN",
        "ASSAY_LAUNCHER",
    ] {
        if !vars.iter().any(|(k, _)| *k == v) {
            c.env_remove(v);
        }
    }
    let out = ok(&c.output().unwrap());
    let mut kv = BTreeMap::new();
    let mut args = Vec::new();
    for line in out.lines() {
        let (k, v) = line.split_once('=').unwrap();
        if k == "arg" {
            args.push(v.to_string());
        } else {
            kv.insert(k.to_string(), v.to_string());
        }
    }
    (kv, args)
}

fn torchrun_args(nnodes: &str, rank: &str, nproc: &str, addr: &str) -> Vec<String> {
    [
        "--nnodes",
        nnodes,
        "--node_rank",
        rank,
        "--nproc_per_node",
        nproc,
        "--master_addr",
        addr,
        "--master_port",
        "29500",
        "-m",
        "llamafactory.launcher",
        "train.yaml",
    ]
    .map(String::from)
    .into()
}

const SETTINGS: [&str; 18] = [
    "--trainer",
    "llamafactory",
    "--model",
    "Qwen/Qwen2.5-0.5B-Instruct",
    "--template",
    "qwen",
    "--lr",
    "2e-5",
    "--max-steps",
    "30",
    "--rank",
    "16",
    "--targets",
    "q_proj,k_proj,v_proj",
    "--set",
    "bf16=true",
    "--eval-fraction",
    "0.2",
];

#[test]
fn a_bundle_holds_everything_to_launch_the_run_elsewhere() {
    let env = Env::new();
    let root = env.dir.path().to_path_buf();
    let dir = root.join("bundle");
    let base = ["train", "--dataset", "alpaca-qa", "--force", "test"];
    let bundle_flags = [
        "--bundle",
        dir.to_str().unwrap(),
        "--nodes",
        "2",
        "--gpus-per-node",
        "4",
        "--accelerator",
        "H100",
        "--deepspeed",
        "zero3",
    ];
    let out = env.assay(&[&base[..], &SETTINGS[..], &bundle_flags[..]].concat());
    let stdout = ok(&out);
    let id: i64 = stdout.trim().parse().unwrap();

    // Recorded as an external run, listed, with nothing started.
    let store = Store::open(&env.db).unwrap();
    let run = store.run(id).unwrap();
    assert_eq!(run.status, RunStatus::External);
    assert_eq!((run.trainer.as_str(), run.pid), ("llamafactory", None));
    assert_eq!(PathBuf::from(&run.out_dir), dir);
    assert_eq!(run.samples, 6);
    let list = ok(&env.assay(&["runs", "list"]));
    assert!(
        list.lines()
            .any(|l| l.trim_start().starts_with(&id.to_string()) && l.contains("external")),
        "{list}"
    );

    // Every file, with its mode.
    for f in assay::train::external::bundle::FILES {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    for d in [&dir, &dir.join("data")] {
        assert_eq!(mode(d), 0o755, "{}", d.display());
    }
    for f in std::fs::read_dir(dir.join("data")).unwrap() {
        assert_eq!(mode(&f.unwrap().path()), 0o644);
    }
    for (f, m) in [
        ("launch.sh", 0o755),
        ("train.sbatch", 0o755),
        ("train.yaml", 0o644),
        ("sky.yaml", 0o644),
        ("ds_z2.json", 0o644),
        ("ds_z3.json", 0o644),
        ("README.md", 0o644),
    ] {
        assert_eq!(mode(&dir.join(f)), m, "{f}");
    }

    // train.yaml: the settings given, paths relative to the bundle.
    let train = yaml(&dir.join("train.yaml"));
    for (k, v) in [
        (
            "model_name_or_path",
            Value::from("Qwen/Qwen2.5-0.5B-Instruct"),
        ),
        ("template", Value::from("qwen")),
        ("stage", Value::from("sft")),
        ("finetuning_type", Value::from("lora")),
        ("dataset", Value::from("alpaca-qa")),
        ("dataset_dir", Value::from("data")),
        ("output_dir", Value::from("output")),
        ("learning_rate", Value::from(2e-5)),
        ("max_steps", Value::from(30)),
        ("lora_rank", Value::from(16)),
        ("lora_target", Value::from("q_proj,k_proj,v_proj")),
        ("val_size", Value::from(0.2)),
        ("bf16", Value::from(true)),
        ("deepspeed", Value::from("ds_z3.json")),
        ("per_device_train_batch_size", Value::from(4)),
        ("report_to", Value::from("none")),
    ] {
        assert_eq!(train.get(k), Some(&v), "train.yaml {k}");
    }

    // The same settings as the local launch: a local run of the same flags (its trainer a fake
    // that exits at once) writes the same keys, but for its absolute paths.
    let fake_lf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/fake_llamafactory.sh");
    let local_out = root.join("local");
    ok(&env.assay(
        &[
            &base[..],
            &SETTINGS[..],
            &[
                "--program",
                fake_lf.to_str().unwrap(),
                "--out",
                local_out.to_str().unwrap(),
            ],
        ]
        .concat(),
    ));
    let mut local = yaml(&local_out.join("train.yaml"));
    let mut bundled = train.clone();
    assert_eq!(
        local["dataset_dir"],
        Value::from(local_out.join("data").display().to_string())
    );
    for k in ["dataset_dir", "output_dir"] {
        local.as_object_mut().unwrap().remove(k);
        bundled.as_object_mut().unwrap().remove(k);
    }
    bundled.as_object_mut().unwrap().remove("deepspeed");
    assert_eq!(bundled, local);

    // The dataset folder: one line per sample of the run, named in dataset_info.json.
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("data/dataset_info.json")).unwrap())
            .unwrap();
    assert_eq!(info["alpaca-qa"]["file_name"], "alpaca-qa.jsonl");
    assert_eq!(info["alpaca-qa"]["formatting"], "sharegpt");
    let lines = std::fs::read_to_string(dir.join("data/alpaca-qa.jsonl")).unwrap();
    assert_eq!(lines.lines().count() as u64, run.samples);
    for l in lines.lines() {
        let row: Value = serde_json::from_str(l).unwrap();
        assert!(row["conversations"].as_array().unwrap().len() >= 2);
    }

    // DeepSpeed: both stages, valid JSON.
    for (f, stage) in [("ds_z2.json", 2), ("ds_z3.json", 3)] {
        let ds: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap())
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(ds["zero_optimization"]["stage"], stage, "{f}");
        assert_eq!(ds["train_micro_batch_size_per_gpu"], "auto");
    }

    // launch.sh, from elsewhere: torchrun with the variables of a second node.
    let bin = fakes(&root);
    let launch_sh = dir.join("launch.sh");
    let (kv, args) = launch(
        &bin,
        &root,
        &[launch_sh.to_str().unwrap()],
        &[
            ("NNODES", "2"),
            ("NODE_RANK", "1"),
            ("MASTER_ADDR", "10.0.0.1"),
        ],
    );
    assert_eq!(kv["prog"], "torchrun");
    assert_eq!(
        PathBuf::from(&kv["cwd"]),
        dir.canonicalize().unwrap(),
        "runs from the bundle"
    );
    assert_eq!(args, torchrun_args("2", "1", "4", "10.0.0.1"));
    // Alone on one node: the defaults.
    let (_, args) = launch(&bin, &root, &[launch_sh.to_str().unwrap()], &[]);
    assert_eq!(args, torchrun_args("1", "0", "4", "127.0.0.1"));
    // Through llamafactory-cli and FORCE_TORCHRUN, which reads the same variables.
    let (kv, args) = launch(
        &bin,
        &root,
        &[launch_sh.to_str().unwrap()],
        &[
            ("ASSAY_LAUNCHER", "llamafactory-cli"),
            ("NNODES", "2"),
            ("NODE_RANK", "1"),
            ("MASTER_ADDR", "10.0.0.1"),
            ("MASTER_PORT", "29511"),
        ],
    );
    assert_eq!(kv["prog"], "llamafactory-cli");
    assert_eq!(args, ["train", "train.yaml"]);
    for (k, v) in [
        ("env.FORCE_TORCHRUN", "1"),
        ("env.NNODES", "2"),
        ("env.NODE_RANK", "1"),
        ("env.MASTER_ADDR", "10.0.0.1"),
        ("env.MASTER_PORT", "29511"),
        ("env.NPROC_PER_NODE", "4"),
    ] {
        assert_eq!(kv[k], v, "{k}");
    }

    // train.sbatch: its directives, then run as Slurm would on the second node.
    let sbatch = std::fs::read_to_string(dir.join("train.sbatch")).unwrap();
    let directives: BTreeMap<&str, &str> = sbatch
        .lines()
        .filter_map(|l| l.strip_prefix("#SBATCH --"))
        .map(|d| d.split_once('=').unwrap())
        .collect();
    assert_eq!(directives["job-name"], format!("assay-run-{id}"));
    assert_eq!(directives["nodes"], "2");
    assert_eq!(directives["gpus-per-node"], "4");
    assert_eq!(directives["ntasks-per-node"], "1");
    let sbatch_path = dir.join("train.sbatch");
    let (kv, args) = launch(
        &bin,
        &root,
        &[sbatch_path.to_str().unwrap()],
        &[
            ("SLURM_SUBMIT_DIR", dir.to_str().unwrap()),
            ("SLURM_NNODES", "2"),
            ("SLURM_JOB_NODELIST", "node-[a-b]"),
        ],
    );
    assert_eq!(kv["prog"], "torchrun");
    assert_eq!(args, torchrun_args("2", "1", "4", "node-a"));

    // sky.yaml: the task, and its `run` commands as SkyPilot runs them on node 1.
    let sky = yaml(&dir.join("sky.yaml"));
    assert_eq!(sky["name"], format!("assay-run-{id}"));
    assert_eq!(sky["num_nodes"], 2);
    assert_eq!(sky["resources"]["accelerators"], "H100:4");
    assert_eq!(sky["workdir"], ".");
    let setup = sky["setup"].as_str().unwrap();
    assert!(setup.contains("llamafactory==0.9.5") && setup.contains("deepspeed"));
    let (kv, args) = launch(
        &bin,
        &dir,
        &["-c", sky["run"].as_str().unwrap()],
        &[
            ("SKYPILOT_NUM_NODES", "2"),
            ("SKYPILOT_NODE_RANK", "1"),
            ("SKYPILOT_NUM_GPUS_PER_NODE", "4"),
            ("SKYPILOT_NODE_IPS", "10.0.0.7\n10.0.0.8\n"),
        ],
    );
    assert_eq!(kv["prog"], "torchrun");
    assert_eq!(args, torchrun_args("2", "1", "4", "10.0.0.7"));

    // The README says how to launch it every way, and how to follow it.
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for want in [
        "bash launch.sh",
        "NODE_RANK=",
        "sbatch train.sbatch",
        "sky launch",
        &format!("assay runs attach {id} ssh://"),
        "`train.yaml` uses `ds_z3.json`",
    ] {
        assert!(readme.contains(want), "README lacks {want:?}");
    }

    // No secret of the environment in any file of the bundle, nor in the database.
    let mut files = vec![env.db.clone(), env.db.with_extension("db-wal")];
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    for f in files.iter().filter(|f| f.exists()) {
        let bytes = std::fs::read(f).unwrap();
        for canary in [HF_CANARY, OPENAI_CANARY] {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} in {}",
                f.display()
            );
        }
    }
}

#[test]
fn bad_bundle_requests_are_refused_before_anything_is_recorded() {
    let env = Env::new();
    let root = env.dir.path().to_path_buf();
    let base = ["train", "--dataset", "alpaca-qa", "--force", "test"];
    let runs = || Store::open(&env.db).unwrap().runs().unwrap().len();
    let before = runs();
    let fresh = root.join("b1");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--bundle", fresh.to_str().unwrap()],
            "--trainer llamafactory",
        ),
        (
            vec![
                "--trainer",
                "llamafactory",
                "--model",
                "m",
                "--bundle",
                fresh.to_str().unwrap(),
                "--set",
                "hub_token=hf_abcdefghijklmnopqrstuvwx",
            ],
            "environment variable",
        ),
        (
            vec![
                "--trainer",
                "llamafactory",
                "--model",
                "m",
                "--bundle",
                fresh.to_str().unwrap(),
                "--job-name",
                "x;y",
            ],
            "--job-name",
        ),
        (
            vec![
                "--trainer",
                "llamafactory",
                "--model",
                "m",
                "--bundle",
                root.to_str().unwrap(),
            ],
            "not empty",
        ),
        (
            vec!["--trainer", "llamafactory", "--model", "m", "--nodes", "2"],
            "--bundle",
        ),
    ];
    for (args, want) in cases {
        let out = env.assay(&[&base[..], &args[..]].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("hf_abcdefghijklmnopqrstuvwx"), "{err}");
    }
    assert_eq!(runs(), before);
    assert!(!fresh.exists());
}
