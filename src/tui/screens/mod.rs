//! The screens, one folder each: `mod.rs` holds the screen's state, `update.rs` its reducer
//! (`update(&mut self, action, ctx) -> Vec<Cmd>`: it changes only its own state and asks the
//! app for the rest), `view.rs` its drawing (a pure function of `&App`). The app
//! (`tui::app`) routes actions and replies to them and holds what they share.
//!
//! A new screen: a folder here with those three files; a `Screen` variant and its arm in
//! `App::screen_mode` (with a `Mode` and a `[mode]` table in `keymaps/default.toml` for its
//! keys); a field on `App` for its state; an action that opens it and its arm in
//! `App::on_action` (`app/update.rs`); its arm in `ui::draw`; and, if it asks the worker,
//! its replies routed in `app/reply.rs`.

pub mod audit;
pub mod editor;
pub mod help;
pub mod list;
pub mod review;
pub mod search;
pub mod stats;
pub mod train;
