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

#[test]
fn o_sorts_the_list_and_keeps_the_cursor_on_its_sample() {
    use assay::store::{Filter, Order, SortKey};
    let dir = tempfile::tempdir().unwrap();
    let mut hs = harness(&dir, 80, 24);
    hs.keys("j j j");
    let on = hs.app.list.current().map(|r| r.id);
    let ds = hs.store.dataset_id("税务问答").unwrap().unwrap();
    for (order, title) in [
        (Order::by(SortKey::Score, false), "weakest score first"),
        (Order::by(SortKey::Length, true), "longest first"),
    ] {
        hs.keys("o");
        assert_eq!(hs.app.list.current().map(|r| r.id), on, "{title}");
        let f = hs.frame();
        assert!(f.contains(title), "{f}");
        // The rows buffered are the store's rows in that order.
        let filter = Filter {
            order,
            ..Filter::dataset(ds)
        };
        let want: Vec<i64> = hs
            .store
            .list_page(&filter, None, 1000)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        let got: Vec<i64> = hs.app.list.rows.iter().map(|r| r.id).collect();
        let start = want.iter().position(|id| Some(id) == got.first()).unwrap();
        assert_eq!(&want[start..start + got.len()], &got[..], "{title}");
        if order.key == SortKey::Score {
            insta::assert_snapshot!("list_sorted_by_score_80x24", f);
        }
    }
    // Back to import order after the cycle.
    hs.keys("o o");
    let f = hs.frame();
    let title = f.lines().next().unwrap();
    assert!(!title.contains("first"), "{f}");
    assert_eq!(hs.app.list.current().map(|r| r.id), on);
}
