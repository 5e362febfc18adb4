//! Widget-level tests: the list screen and the safety pass rendered into a `Buffer` and compared
//! cell by cell.

use assay::tui::harness::{Harness, fixture_store};
use ratatui::buffer::{Buffer, Cell};

/// The buffer's symbols only (styles dropped), to compare with `Buffer::with_lines`.
fn plain(buf: &Buffer) -> Buffer {
    let mut out = buf.clone();
    for c in out.content.iter_mut() {
        let mut fresh = Cell::default();
        fresh.set_symbol(c.symbol());
        *c = fresh;
    }
    out
}

#[test]
fn list_screen_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(&dir.path().join("w.db"), 3).unwrap();
    let mut h = Harness::new(store, 72, 7, None).unwrap();
    h.frame();
    let got = plain(&h.last);
    let want = Buffer::with_lines([
        "┌ 税务问答 · 3 samples ────────────────────────────────────────────────┐",
        "│     id status       verdict kind aspect   first line                 │",
        "│      1 · unreviewed pass   qa   增值税   某公司第0季度销售额为100万… │",
        "│      2 · unreviewed fail   cot  企业所…  小微企业年应纳税所得额81万… │",
        "│      3 · unreviewed none   qa   个人所…  工资薪金5200元，个人所得税… │",
        "└──────────────────────────────────────────────────────────────────────┘",
        " 税务问答 │ no audit │ 0/3 reviewed │ jobs 0 │ 0 done            ?:help ",
    ]);
    assert_eq!(got, want);
    // The selected row carries the selection style (reverse video in the `none` theme).
    let buf = &h.last;
    assert!(
        buf[(10, 2)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
    assert!(
        !buf[(10, 3)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
}

#[test]
fn scrub_replaces_unsafe_cells() {
    let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 4, 1));
    buf[(0, 0)].set_symbol("a");
    buf[(1, 0)].set_symbol("\u{1b}");
    buf[(2, 0)].set_symbol("\u{202e}");
    buf[(3, 0)].set_symbol("税");
    assay::tui::ui::scrub(&mut buf);
    let syms: Vec<&str> = buf.content.iter().map(|c| c.symbol()).collect();
    assert_eq!(syms, vec!["a", "�", "�", "税"]);
}
