//! The stats screen: its state (the dataset's statistics panel, once loaded) and its reducer,
//! which asks for the panel on opening; the drawing is in `view`.

pub mod view;

use crate::tui::action::Action;
use crate::tui::app::cmd::Cmd;
use crate::tui::app::context::Context;
use crate::tui::app::screen::Screen;
use crate::tui::worker::{Request, StatsPanel};

#[derive(Debug, Default)]
pub struct StatsScreen {
    pub panel: Option<StatsPanel>,
}

impl StatsScreen {
    pub fn open(&self, ctx: &Context) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::Goto(Screen::Stats)];
        if let Some(id) = ctx.dataset_id() {
            cmds.push(Cmd::Db(Request::Stats { dataset_id: id }));
        }
        cmds
    }

    pub fn update(&self, a: Action) -> Vec<Cmd> {
        match a {
            Action::Back => vec![Cmd::Goto(Screen::List)],
            _ => Vec::new(),
        }
    }
}
