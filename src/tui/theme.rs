//! Themes as files naming semantic roles (`accepted`, `verdict_fail`, `selection`...), not
//! widgets, so a screen asks for what a thing means. A theme may `inherit` another; `NO_COLOR`
//! selects `none` (modifiers only). A user theme (`<data dir>/theme.toml`, or a file that
//! `ASSAY_THEME` names) is merged role by role over the named base, like the user keymap.

use ratatui::style::{Color, Modifier, Style};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

const SHIPPED: [(&str, &str); 4] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("base16", include_str!("../../themes/base16.toml")),
    ("none", include_str!("../../themes/none.toml")),
];

macro_rules! roles {
    ($($role:ident,)*) => {
        /// The meanings a theme gives a style to.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Theme { $(pub $role: Style,)* }

        const ROLE_NAMES: &[&str] = &[$(stringify!($role),)*];

        impl Theme {
            fn set(&mut self, role: &str, style: Style) -> bool {
                match role { $(stringify!($role) => { self.$role = style; true })* _ => false }
            }
        }
    };
}

roles! {
    text, muted, title, border, border_focus, selection, accepted, rejected, flagged, unreviewed,
    verdict_pass, verdict_fail, wrong_step, step_number, matched, status_bar, status_key,
    message, error, diff_add, diff_del, heading,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme {file}: {message}")]
    Bad { file: String, message: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    inherit: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, RoleSpec>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

impl Theme {
    /// The theme `name` names: a shipped theme with the user's `<data dir>/theme.toml` merged
    /// over it when that file exists, or, when `name` is a path to a `.toml` file, that file
    /// merged over `dark`. `none` when `NO_COLOR` is set.
    pub fn named(name: &str) -> Result<Theme, ThemeError> {
        Self::with_user(name, &crate::paths::data_dir().join("theme.toml"))
    }

    /// As [`Theme::named`], with the user theme file at `user` (read when it exists).
    pub fn with_user(name: &str, user: &Path) -> Result<Theme, ThemeError> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if no_color {
            return Self::resolve("none", 0);
        }
        let is_file = name.ends_with(".toml") || name.contains(std::path::MAIN_SEPARATOR);
        let (base, file) = if is_file {
            ("dark", Some(Path::new(name)))
        } else {
            (name, user.is_file().then_some(user))
        };
        let base = Self::resolve(base, 0)?;
        let Some(path) = file else {
            return Ok(base);
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ThemeError::Bad {
            file: shown.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse_over(&shown, &text, 0, Some(base))
    }

    fn resolve(name: &str, depth: usize) -> Result<Theme, ThemeError> {
        let file = format!("themes/{name}.toml");
        let text = SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| ThemeError::Bad {
                file: file.clone(),
                message: format!(
                    "no such theme; themes: {}",
                    SHIPPED.map(|(n, _)| n).join(", ")
                ),
            })?;
        Self::parse(&file, text, depth)
    }

    /// Parses a theme file; `inherit` names a shipped theme applied first.
    pub fn parse(file: &str, text: &str, depth: usize) -> Result<Theme, ThemeError> {
        Self::parse_over(file, text, depth, None)
    }

    /// Parses a theme file over `base` (unless it names its own `inherit`).
    fn parse_over(
        file: &str,
        text: &str,
        depth: usize,
        base: Option<Theme>,
    ) -> Result<Theme, ThemeError> {
        let bad = |message: String| ThemeError::Bad {
            file: file.to_string(),
            message,
        };
        let parsed: ThemeFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            bad(format!("line {line}: {}", e.message()))
        })?;
        let mut theme = match parsed.inherit.as_deref() {
            Some(_) if depth > 4 => return Err(bad("inherit goes too deep (a cycle?)".into())),
            Some(parent) => Self::resolve(parent, depth + 1)?,
            None => base.unwrap_or_default(),
        };
        for (role, spec) in parsed.roles {
            let line = line_of_role(text, &role);
            let style = spec
                .style()
                .map_err(|m| bad(format!("line {line}: role {role}: {m}")))?;
            if !theme.set(&role, style) {
                return Err(bad(format!(
                    "line {line}: unknown role {role:?}; roles: {}",
                    ROLE_NAMES.join(", ")
                )));
            }
        }
        Ok(theme)
    }
}

/// The 1-based line where `role` is set (`role = {...}` or `[roles.role]`); 0 if not found.
fn line_of_role(text: &str, role: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches('"');
            let header = format!("[roles.{role}]");
            l.starts_with(&header)
                || l.strip_prefix(role)
                    .is_some_and(|rest| rest.trim_start_matches('"').trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
}

impl RoleSpec {
    fn style(&self) -> Result<Style, String> {
        let color = |c: &Option<String>| -> Result<Option<Color>, String> {
            c.as_deref()
                .map(|s| Color::from_str(s).map_err(|_| format!("unknown colour {s:?}")))
                .transpose()
        };
        let mut style = Style::default();
        if let Some(c) = color(&self.fg)? {
            style = style.fg(c);
        }
        if let Some(c) = color(&self.bg)? {
            style = style.bg(c);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
            (self.dim, Modifier::DIM),
        ] {
            if on {
                style = style.add_modifier(m);
            }
        }
        Ok(style)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_parse() {
        for (name, _) in SHIPPED {
            Theme::resolve(name, 0).unwrap();
        }
        let none = Theme::resolve("none", 0).unwrap();
        assert_eq!(none.accepted.fg, None);
        assert!(none.selection.add_modifier.contains(Modifier::REVERSED));
        let dark = Theme::resolve("dark", 0).unwrap();
        assert!(dark.accepted.fg.is_some());
    }

    #[test]
    fn inherit_and_errors() {
        let t = Theme::parse(
            "t.toml",
            "inherit = \"dark\"\n[roles]\naccepted = { fg = \"#00ff00\" }\n",
            0,
        )
        .unwrap();
        assert_eq!(t.accepted.fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(t.rejected, Theme::resolve("dark", 0).unwrap().rejected);
        let e = Theme::parse(
            "t.toml",
            "[roles]\naccepted = { fg = \"ultraviolet\" }\n",
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown colour"), "{e}");
        let e = Theme::parse("t.toml", "[roles]\nbogus = { fg = \"red\" }\n", 0).unwrap_err();
        assert!(e.to_string().contains("unknown role"), "{e}");
        let e = Theme::parse("t.toml", "\ncolour = 1\n", 0).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn user_theme_merges_over_the_named_base_and_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("theme.toml");
        // No user file: the shipped theme as is.
        assert_eq!(
            Theme::with_user("light", &user).unwrap(),
            Theme::resolve("light", 0).unwrap()
        );
        std::fs::write(
            &user,
            "[roles]\nmatched = { fg = \"magenta\", bold = true }\n",
        )
        .unwrap();
        let t = Theme::with_user("light", &user).unwrap();
        let light = Theme::resolve("light", 0).unwrap();
        assert_eq!(t.matched.fg, Some(Color::Magenta));
        assert_eq!(t.accepted, light.accepted);
        // A file named directly is merged over dark.
        let t = Theme::with_user(user.to_str().unwrap(), Path::new("/nonexistent")).unwrap();
        assert_eq!(t.matched.fg, Some(Color::Magenta));
        assert_eq!(t.accepted, Theme::resolve("dark", 0).unwrap().accepted);
        std::fs::write(
            &user,
            "[roles]\ntext = { fg = \"red\" }\nsparkle = { fg = \"red\" }\n",
        )
        .unwrap();
        let e = Theme::with_user("dark", &user).unwrap_err().to_string();
        assert!(
            e.contains("theme.toml") && e.contains("line 3") && e.contains("sparkle"),
            "{e}"
        );
        std::fs::write(&user, "[roles]\n\ntext = { fg = \"mauve-ish\" }\n").unwrap();
        let e = Theme::with_user("dark", &user).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("unknown colour"), "{e}");
        let e = Theme::with_user("/no/such/theme.toml", &user)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/no/such/theme.toml") && e.contains("cannot read"),
            "{e}"
        );
    }
}
