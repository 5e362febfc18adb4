//! The help overlay: drawn over the current screen from the live keymap (`view`), it takes
//! every key while open and closes on back, help or quit. Its state is `App::help`.

pub mod view;

use crate::tui::action::Action;

/// Whether the overlay stays open after `a`.
pub fn stays_open(a: Action) -> bool {
    !matches!(a, Action::Back | Action::Help | Action::Quit)
}

/// The help's first entry after `a`: moving keys scroll it by an entry (the view clamps).
pub fn scrolled(first: usize, a: Action) -> usize {
    match a {
        Action::Next | Action::ScrollDown | Action::PageDown => first + 1,
        Action::Prev | Action::ScrollUp | Action::PageUp => first.saturating_sub(1),
        _ => first,
    }
}
