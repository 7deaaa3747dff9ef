//! Styles; with NO_COLOR only modifiers (bold, reversed, dim) remain. Plain
//! data, so the text builders (details, help) and the drawing code share it.

use crate::tui::app::run::State;
use crate::tui::app::table::RowState;
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn new(no_color: bool) -> Self {
        Theme { color: !no_color }
    }
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn err(&self) -> Style {
        self.fg(Color::Red)
    }
    pub fn info(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    pub fn heading(&self) -> Style {
        self.bold().add_modifier(Modifier::UNDERLINED)
    }
    /// A phase's or a step's state.
    pub fn state(&self, s: State) -> Style {
        match s {
            State::Pending => self.dim(),
            State::Running => self.info().add_modifier(Modifier::BOLD),
            State::Done => self.ok(),
            State::Failed => self.err().add_modifier(Modifier::BOLD),
        }
    }
    /// An Application's or ApplicationSet's row.
    pub fn row(&self, s: RowState) -> Style {
        match s {
            RowState::Ready => self.ok(),
            RowState::Progressing => self.info(),
            RowState::OutOfSync => self.warn(),
            RowState::Failing => self.err(),
            RowState::Unknown => self.dim(),
        }
    }
    /// Argo CD health (`Healthy`, `Degraded`, ...).
    pub fn health(&self, h: &str) -> Style {
        match h {
            "Healthy" => self.ok(),
            "Progressing" => self.info(),
            "Degraded" | "Missing" => self.err(),
            "Suspended" => self.warn(),
            _ => self.dim(),
        }
    }
    /// Argo CD sync status (`Synced`, `OutOfSync`, ...).
    pub fn sync(&self, s: &str) -> Style {
        match s {
            "Synced" => self.ok(),
            "OutOfSync" => self.warn(),
            _ => self.dim(),
        }
    }
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The state's symbol, animated while running.
pub fn state_symbol(s: State, now_ms: u64) -> &'static str {
    if s == State::Running {
        SPINNER[((now_ms / 250) % SPINNER.len() as u64) as usize]
    } else {
        s.symbol()
    }
}
