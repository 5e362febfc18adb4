//! The terminal workbench: app state, actions, reducer, keymap, theme, screens.

/// Opens the TUI on the database named by `global`.
pub fn run(_global: &crate::cli::GlobalArgs) -> anyhow::Result<()> {
    anyhow::bail!("the TUI is not built yet (issue 3); try `assay stats`")
}
