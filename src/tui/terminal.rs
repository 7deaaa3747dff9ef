//! The terminal guard: raw mode and the alternate screen on enter, restored
//! on drop, on error, on panic (the hook restores first, then reports) and
//! on SIGTERM/SIGHUP (the loop turns them into a quit).

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{stdout, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANICKED: Mutex<Option<String>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Leaves raw mode and the alternate screen; safe to call twice.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(stdout(), LeaveAlternateScreen, Show);
    }
}

/// The message of a panic on any thread since the guard was entered, if
/// one happened: the loop then stops drawing and returns an error.
pub fn panicked() -> Option<String> {
    PANICKED.lock().ok().and_then(|p| p.clone())
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let was_active = ACTIVE.load(Ordering::SeqCst);
            restore();
            if was_active {
                if let Ok(mut p) = PANICKED.lock() {
                    p.get_or_insert_with(|| info.to_string());
                }
            }
            prev(info);
        }));
    });
}

pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn enter() -> anyhow::Result<Self> {
        install_panic_hook();
        if let Ok(mut p) = PANICKED.lock() {
            *p = None;
        }
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        if let Err(e) = execute!(stdout(), EnterAlternateScreen, Hide) {
            restore();
            return Err(e.into());
        }
        match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(mut terminal) => {
                let _ = terminal.clear();
                Ok(TerminalGuard { terminal })
            }
            Err(e) => {
                restore();
                Err(e.into())
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
