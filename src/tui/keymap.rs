//! Keymaps as files: the shipped ones compiled in, a user file merged over them key by key.
//!
//! A file has one table per mode (`[list]`, `[review]`...) plus `[global]` for the screens that
//! take no text; `"no_op"` unbinds. Unknown modes, keys and actions are errors naming the file
//! and line, never ignored (a bad key file that fails silently is worse than none).

use super::action::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::path::Path;

pub const DEFAULT: &str = include_str!("../../keymaps/default.toml");
pub const VIM: &str = include_str!("../../keymaps/vim.toml");

/// The modes a keymap has tables for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Global,
    List,
    Review,
    Editor,
    Search,
    Audit,
    Stats,
    Help,
    Prompt,
    /// A yes/no question on the prompt line.
    Confirm,
    Train,
    TrainForm,
}

impl Mode {
    pub const ALL: [Mode; 12] = [
        Mode::Global,
        Mode::List,
        Mode::Review,
        Mode::Editor,
        Mode::Search,
        Mode::Audit,
        Mode::Stats,
        Mode::Help,
        Mode::Prompt,
        Mode::Confirm,
        Mode::Train,
        Mode::TrainForm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::List => "list",
            Mode::Review => "review",
            Mode::Editor => "editor",
            Mode::Search => "search",
            Mode::Audit => "audit",
            Mode::Stats => "stats",
            Mode::Help => "help",
            Mode::Prompt => "prompt",
            Mode::Confirm => "confirm",
            Mode::Train => "train",
            Mode::TrainForm => "train_form",
        }
    }

    /// Modes where typed characters are text, or answer a question, so `[global]` does not
    /// apply.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Mode::Editor | Mode::Search | Mode::Prompt | Mode::Confirm | Mode::TrainForm
        )
    }
}

/// A key with its modifiers, normalised so that `G` and `shift-g` are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// The key codes a keymap can name (crossterm's `KeyCode` is not `Ord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: [(&str, KeyCode); 14] = [
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
];

/// The crossterm code of a named key.
pub fn named_code(name: &str) -> KeyCode {
    NAMED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or(KeyCode::Null)
}

impl Key {
    /// Parses `a`, `G`, `space`, `ctrl-s`, `alt-enter`, `f5`...
    pub fn parse(text: &str) -> Option<Key> {
        let (mut ctrl, mut alt) = (false, false);
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeOrd::Char(c),
            _ if rest == "space" => KeyCodeOrd::Char(' '),
            _ => {
                if let Some(n) = rest.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    if (1..=12).contains(&n) {
                        KeyCodeOrd::F(n)
                    } else {
                        return None;
                    }
                } else {
                    KeyCodeOrd::Named(NAMED.iter().find(|(n, _)| *n == rest)?.0)
                }
            }
        };
        Some(Key { code, ctrl, alt })
    }

    /// The key a terminal event stands for, if a keymap could name it.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, k)| *k == other)?.0),
        };
        Some(Key {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// How the help overlay writes the key.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCodeOrd::Char(' ') => "space".to_string(),
            KeyCodeOrd::Char(c) => c.to_string(),
            KeyCodeOrd::F(n) => format!("f{n}"),
            KeyCodeOrd::Named(n) => n.to_string(),
        };
        format!(
            "{}{}{base}",
            if self.ctrl { "ctrl-" } else { "" },
            if self.alt { "alt-" } else { "" }
        )
    }
}

/// A keymap that failed to load: which file, which line, what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct KeymapError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The live keymap: per mode, key to action.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    pub modes: BTreeMap<Mode, BTreeMap<Key, Action>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

type RawMap =
    BTreeMap<toml::Spanned<String>, BTreeMap<toml::Spanned<String>, toml::Spanned<String>>>;

impl Keymap {
    /// The default keymap, optionally with the vim one over it.
    pub fn shipped(vim: bool) -> Result<Keymap, KeymapError> {
        let mut k = Keymap::default();
        k.merge("keymaps/default.toml", DEFAULT)?;
        if vim {
            k.merge("keymaps/vim.toml", VIM)?;
        }
        Ok(k)
    }

    /// The keymap in effect: shipped maps, then `<data dir>/keymap.toml` if it exists. The user
    /// file may start with `base = "vim"`; `ASSAY_KEYMAP=vim` does the same.
    pub fn load(data_dir: &Path) -> Result<Keymap, KeymapError> {
        let path = data_dir.join("keymap.toml");
        let user = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(KeymapError {
                    file: path.display().to_string(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                });
            }
        };
        let env_vim = std::env::var("ASSAY_KEYMAP").is_ok_and(|v| v == "vim");
        let user_vim = user
            .as_deref()
            .is_some_and(|t| t.lines().any(|l| l.replace(' ', "") == "base=\"vim\""));
        let mut k = Keymap::shipped(env_vim || user_vim)?;
        if let Some(text) = user {
            k.merge(&path.display().to_string(), &text)?;
        }
        Ok(k)
    }

    /// Merges a keymap file over this one, key by key.
    pub fn merge(&mut self, file: &str, text: &str) -> Result<(), KeymapError> {
        let err = |offset: usize, message: String| KeymapError {
            file: file.to_string(),
            line: line_of(text, offset),
            message,
        };
        let mut text_no_base = String::with_capacity(text.len());
        for l in text.lines() {
            // `base = "vim"` is read by `load`; blanked here so that lines keep their numbers.
            if l.replace(' ', "") != "base=\"vim\"" {
                text_no_base.push_str(l);
            }
            text_no_base.push('\n');
        }
        let raw: RawMap = toml::from_str(&text_no_base).map_err(|e| {
            err(
                e.span().map(|s| s.start).unwrap_or(0),
                e.message().to_string(),
            )
        })?;
        for (mode_name, entries) in raw {
            let mode = Mode::ALL
                .into_iter()
                .find(|m| m.name() == mode_name.get_ref())
                .ok_or_else(|| {
                    err(
                        mode_name.span().start,
                        format!(
                            "unknown mode [{}]; modes are: {}",
                            mode_name.get_ref(),
                            Mode::ALL.map(|m| m.name()).join(", ")
                        ),
                    )
                })?;
            let binds = self.modes.entry(mode).or_default();
            for (key_name, action_name) in entries {
                let key = Key::parse(key_name.get_ref()).ok_or_else(|| {
                    err(
                        key_name.span().start,
                        format!("[{}]: unknown key {:?}", mode.name(), key_name.get_ref()),
                    )
                })?;
                let action = Action::parse(action_name.get_ref()).ok_or_else(|| {
                    err(
                        action_name.span().start,
                        format!(
                            "[{}] {}: unknown action {:?} (press ? in assay for the list)",
                            mode.name(),
                            key_name.get_ref(),
                            action_name.get_ref()
                        ),
                    )
                })?;
                if action == Action::NoOp {
                    binds.remove(&key);
                } else {
                    binds.insert(key, action);
                }
            }
        }
        Ok(())
    }

    /// The action a key does in a mode: the mode's table, then `[global]` outside text modes.
    pub fn action(&self, mode: Mode, key: &Key) -> Option<Action> {
        let own = self.modes.get(&mode).and_then(|m| m.get(key)).copied();
        if own.is_some() || mode.takes_text() {
            return own;
        }
        self.modes
            .get(&Mode::Global)
            .and_then(|m| m.get(key))
            .copied()
    }

    /// (key label, action) of a mode's bindings, its own first then global, for the help.
    pub fn bindings(&self, mode: Mode) -> Vec<(String, Action)> {
        let mut out: Vec<(String, Action)> = Vec::new();
        let mut tables = vec![mode];
        if !mode.takes_text() && mode != Mode::Global {
            tables.push(Mode::Global);
        }
        for m in tables {
            for (k, a) in self.modes.get(&m).into_iter().flatten() {
                if !out.iter().any(|(l, _)| *l == k.label()) {
                    out.push((k.label(), *a));
                }
            }
        }
        out
    }

    /// The first key bound to `action` in `mode` (for hints), if any.
    pub fn key_for(&self, mode: Mode, action: Action) -> Option<String> {
        self.bindings(mode)
            .into_iter()
            .find(|(_, a)| *a == action)
            .map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    #[test]
    fn shipped_maps_load() {
        let k = Keymap::shipped(false).unwrap();
        assert_eq!(k.action(Mode::List, &key("a")), Some(Action::Accept));
        assert_eq!(k.action(Mode::List, &key("space")), Some(Action::Skip));
        assert_eq!(k.action(Mode::Review, &key("?")), Some(Action::Help));
        assert_eq!(
            k.action(Mode::Search, &key("q")),
            None,
            "q is text in search"
        );
        let v = Keymap::shipped(true).unwrap();
        assert_eq!(v.action(Mode::List, &key("x")), None, "vim unbinds x");
        assert_eq!(v.action(Mode::List, &key("y")), Some(Action::Accept));
    }

    #[test]
    fn a_yes_no_question_takes_y_and_enter_and_no_global_key() {
        let k = Keymap::shipped(false).unwrap();
        for (key_name, action) in [
            ("y", Some(Action::Confirm)),
            ("enter", Some(Action::Confirm)),
            ("n", Some(Action::Cancel)),
            ("esc", Some(Action::Cancel)),
            ("q", None),
        ] {
            assert_eq!(
                k.action(Mode::Confirm, &key(key_name)),
                action,
                "{key_name}"
            );
        }
        assert_eq!(
            k.action(Mode::Prompt, &key("y")),
            None,
            "y is text in a reason"
        );
    }

    #[test]
    fn user_file_merges_key_by_key() {
        let mut k = Keymap::shipped(false).unwrap();
        k.merge("user.toml", "[list]\nz = \"accept\"\na = \"no_op\"\n")
            .unwrap();
        assert_eq!(k.action(Mode::List, &key("z")), Some(Action::Accept));
        assert_eq!(k.action(Mode::List, &key("a")), None);
        assert_eq!(k.action(Mode::List, &key("x")), Some(Action::Reject));
        assert!(
            k.bindings(Mode::List)
                .iter()
                .any(|(l, a)| l == "z" && *a == Action::Accept)
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let mut k = Keymap::default();
        let e = k
            .merge("my.toml", "[list]\na = \"accept\"\nb = \"acept\"\n")
            .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("my.toml", 3), "{e}");
        assert!(e.message.contains("unknown action \"acept\""), "{e}");
        let e = k
            .merge("my.toml", "[list]\n\nmeta-q = \"quit\"\n")
            .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("unknown key"), "{e}");
        let e = k.merge("my.toml", "\n[lsit]\nq = \"quit\"\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = k.merge("my.toml", "[list\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn keys_parse_and_label() {
        for s in [
            "a",
            "G",
            "space",
            "ctrl-s",
            "alt-enter",
            "f5",
            "pagedown",
            "?",
        ] {
            assert_eq!(key(s).label(), s);
        }
        assert!(Key::parse("f13").is_none());
        assert!(Key::parse("hyper-x").is_none());
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), Some(key("G")));
    }
}
