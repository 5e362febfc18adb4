//! `assay runs plot`: two recorded runs drawn overlaid as SVG (series named in the legend, one
//! line per curve) and as PNG (a decodable picture in which each run's colour appears).

use assay::store::{NewRun, RunPoint, RunStatus, Store};
use std::process::Command;

fn record(store: &mut Store, scale: f64) -> i64 {
    let id = store
        .create_run(
            &NewRun {
                trainer: "cmd".into(),
                dataset_id: None,
                config: serde_json::json!({}),
                out_dir: String::new(),
            },
            &[],
        )
        .unwrap();
    let points: Vec<RunPoint> = (1..=30)
        .map(|step| RunPoint {
            step,
            total_steps: Some(30),
            loss: Some(scale * (3.0 / (step as f64).sqrt() + 0.1 * ((step % 3) as f64))),
            eval_loss: (step % 10 == 0).then(|| scale * 2.0 / (step as f64).sqrt()),
            lr: Some(2e-4 * (1.0 - step as f64 / 30.0)),
            elapsed_s: step as f64,
            ..RunPoint::default()
        })
        .collect();
    store.add_run_points(id, &points, None).unwrap();
    store
        .finish_run(id, RunStatus::Completed, Some(0), None, &[])
        .unwrap();
    id
}

#[test]
fn two_runs_plot_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (a, b) = {
        let mut store = Store::open(&db).unwrap();
        (record(&mut store, 1.0), record(&mut store, 0.8))
    };
    let plot = |out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_assay"))
            .arg("--db")
            .arg(&db)
            .args(["runs", "plot", &a.to_string(), &b.to_string(), "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let svg_path = dir.path().join("loss.svg");
    let out = plot(&svg_path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
    for run in [a, b] {
        for series in ["loss", "loss (smoothed)", "eval loss", "learning rate"] {
            let label = format!("run {run} (cmd) {series}");
            assert!(svg.contains(&label), "legend lacks {label}");
        }
    }
    // The legend sits in the strip under the chart: every label's baseline is below the
    // chart's area, so no entry covers a curve.
    let entries = 8;
    let chart_bottom = assay::train::plot::SIZE.1 - assay::train::plot::legend_height(entries);
    for run in [a, b] {
        let label = format!(">\nrun {run} (cmd) loss\n<");
        let at = svg.find(&label).unwrap_or_else(|| {
            let i = svg.find("(cmd) loss").unwrap_or(0);
            panic!("{}", &svg[i.saturating_sub(300)..(i + 100).min(svg.len())])
        });
        let open = svg[..at].rfind("<text").unwrap();
        let y: f64 = svg[open..at]
            .split("y=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no y in {}", &svg[open..at]));
        assert!(
            y > chart_bottom as f64,
            "legend text at y={y}, chart ends at {chart_bottom}"
        );
    }
    // Per run: raw loss, smoothed loss (polylines) and the dashed learning rate (many short
    // segments); eval losses are 3 dots per run.
    assert!(svg.matches("<polyline").count() >= 4);
    assert!(svg.matches("<circle").count() >= 6);

    let png_path = dir.path().join("loss.png");
    let out = plot(&png_path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), assay::train::plot::SIZE);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    // The smoothed lines are drawn in each run's full colour (Okabe-Ito blue, then vermillion).
    for colour in [[0u8, 114, 178], [213, 94, 0]] {
        let n = pixels.iter().filter(|p| **p == colour).count();
        assert!(n > 100, "colour {colour:?} drawn on {n} pixels");
    }
    // Text was rasterised: dark pixels from the embedded font (axis labels, legend).
    assert!(
        pixels
            .iter()
            .filter(|p| p[0] < 60 && p[1] < 60 && p[2] < 60)
            .count()
            > 500
    );

    let bad = plot(&dir.path().join("loss.gif"));
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".svg or .png"));
}
