//! The search screen's reducer: the query line (filters + fuzzy text), handing each new query
//! to the search engine (latest wins), moving through matches and opening one.

use super::Search;
use crate::search::query::{expand_views, parse_query};
use crate::tui::action::Action;
use crate::tui::app::{Cmd, Context, Screen, edit_line};
use crate::tui::worker::Request;
use crossterm::event::KeyEvent;

impl Search {
    pub fn open(&mut self, ctx: &mut Context) -> Vec<Cmd> {
        self.refresh(ctx);
        // Views saved from the command line since: read again (the reply refreshes the query).
        vec![Cmd::Goto(Screen::Search), Cmd::Db(Request::Views)]
    }

    /// A key typed into the query line.
    pub fn input(&mut self, ev: KeyEvent, ctx: &mut Context) {
        edit_line(&mut self.query, ev);
        self.refresh(ctx);
    }

    /// Re-reads the query (`view:NAME` expanded first); a changed filter or text starts a new
    /// pass of the engine.
    pub fn refresh(&mut self, ctx: &mut Context) {
        let parsed = expand_views(&self.query, &ctx.views)
            .and_then(|q| parse_query(&q, &ctx.datasets, ctx.dataset_id()));
        match parsed {
            Err(e) => self.error = Some(e),
            Ok((filter, text)) => {
                self.error = None;
                if self.loaded_filter.as_ref() != Some(&filter) || text != self.text {
                    let generation = ctx.next_seq();
                    let screen = ctx.list_height();
                    self.submit(generation, filter, &text, screen);
                }
                self.tick(0);
            }
        }
    }

    pub fn update(&mut self, a: Action) -> Vec<Cmd> {
        let n = self.shown();
        match a {
            Action::Next => self.cursor = (self.cursor + 1).min(n.saturating_sub(1)),
            Action::Prev => self.cursor = self.cursor.saturating_sub(1),
            Action::Open => {
                let Some(id) = self.id_at(self.cursor) else {
                    return Vec::new();
                };
                // The list takes the search's filter so that next/prev stay within it.
                return vec![Cmd::OpenSample {
                    id,
                    filter: self.loaded_filter.clone(),
                    from: Screen::Search,
                }];
            }
            Action::Back => return vec![Cmd::Goto(Screen::List)],
            _ => {}
        }
        Vec::new()
    }
}
