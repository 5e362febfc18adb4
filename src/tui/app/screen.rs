//! Which screen is showing: its own file so that screen states can name it without importing
//! the app that holds them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    List,
    Review,
    Editor,
    Search,
    Audit,
    Stats,
    Train,
}
