//! Every screen at 80x24 and 160x48 with Chinese samples, as insta snapshots of the rendered
//! `TestBackend` buffer (text only; styles are checked by the widget tests).

use assay::tui::harness::{Harness, fixture_store};

fn harness(dir: &tempfile::TempDir, w: u16, h: u16) -> Harness {
    let store = fixture_store(&dir.path().join("s.db"), 40).unwrap();
    Harness::new(store, w, h, None).unwrap()
}

fn screens(w: u16, h: u16) {
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, w, h);
    let size = format!("{w}x{h}");
    insta::assert_snapshot!(format!("list_{size}"), hs.frame());
    hs.keys("j enter");
    insta::assert_snapshot!(format!("review_cot_{size}"), hs.frame());
    hs.keys("e");
    hs.type_text("请");
    insta::assert_snapshot!(format!("editor_{size}"), hs.frame());
    hs.keys("ctrl-s h");
    insta::assert_snapshot!(format!("review_history_{size}"), hs.frame());
    hs.keys("esc /");
    hs.type_text("kind:cot 增值税");
    insta::assert_snapshot!(format!("search_{size}"), hs.frame());
    hs.keys("esc");
    let ds = hs.store.dataset_id("税务问答").unwrap().unwrap();
    assay::audit::draw(&mut hs.store, ds, &assay::audit::DrawPlan::seeded(7)).unwrap();
    hs.keys("a x A");
    insta::assert_snapshot!(format!("audit_{size}"), hs.frame());
    hs.keys("S");
    insta::assert_snapshot!(format!("stats_{size}"), hs.frame());
    hs.keys("L ?");
    insta::assert_snapshot!(format!("help_{size}"), hs.frame());
    hs.keys("esc X");
    hs.type_text("税率");
    insta::assert_snapshot!(format!("reject_prompt_{size}"), hs.frame());
}

#[test]
fn screens_80x24() {
    screens(80, 24);
}

#[test]
fn screens_160x48() {
    screens(160, 48);
}

#[test]
fn live_resize_keeps_the_cursor_visible() {
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, 80, 24);
    hs.keys("G");
    hs.app.update(assay::tui::app::Msg::Resize(60, 10));
    hs.terminal.backend_mut().resize(60, 10);
    hs.settle();
    let f = hs.frame();
    assert!(f.contains("     40 "), "{f}");
    assert_eq!(f.lines().count(), 10);
}

#[test]
fn tiny_terminals_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, 80, 24);
    hs.keys("j enter h");
    for keys in ["", "e", "esc esc /", "esc A", "S", "?"] {
        hs.keys(keys);
        for (w, h) in [
            (1, 1),
            (5, 2),
            (12, 4),
            (24, 6),
            (25, 7),
            (33, 9),
            (80, 3),
            (80, 6),
        ] {
            hs.app.update(assay::tui::app::Msg::Resize(w, h));
            hs.terminal.backend_mut().resize(w, h);
            let f = hs.frame();
            assert_eq!(f.lines().count(), h as usize, "{keys} at {w}x{h}");
        }
    }
}
