//! Actions from the Applications table: what the user asked for
//! ([`Intent`], sent to the loop as [`super::Effect::Act`]; the Kubernetes
//! calls are [`crate::argocd::actions`]), the yes/no question before
//! anything that changes the cluster, the password popup, and what the last
//! action did (shown under the table, and as a flash).
//!
//! The admin password lives only in [`Actions::secret`] while its popup is
//! open: never in a flash, the last-action line or the log.

use super::{App, Effect, RowKey};
use crate::tui::keys::Action;
use std::fmt;

/// A value never printed by `Debug` (the admin password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What the password is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordUse {
    /// A popup until dismissed.
    Show,
    /// The clipboard, through the terminal (OSC 52).
    Copy,
}

/// What the user asked of Argo CD; the loop carries it out off the UI
/// and answers with [`super::Msg::Acted`] or [`super::Msg::Password`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Sync {
        namespace: String,
        name: String,
    },
    Refresh {
        namespace: String,
        name: String,
        hard: bool,
    },
    Password(PasswordUse),
}

impl Intent {
    /// The question asked before it runs, if it needs one: a sync changes
    /// the cluster; showing the password puts it on screen.
    pub fn question(&self) -> Option<String> {
        match self {
            Intent::Sync { namespace, name } => Some(format!(
                "Sync Application {namespace}/{name} now? Argo CD applies what git says to the cluster."
            )),
            Intent::Password(PasswordUse::Show) => {
                Some("Show the Argo CD admin password on screen? Anyone who can see your screen can read it.".into())
            }
            Intent::Refresh { .. } | Intent::Password(PasswordUse::Copy) => None,
        }
    }
}

/// The dialogs and the last action's result.
#[derive(Debug, Default)]
pub struct Actions {
    /// A yes/no question and what `y` runs.
    pub confirm: Option<(String, Intent)>,
    /// The password popup's value, until dismissed.
    pub secret: Option<Secret>,
    /// What the last action did (true) or why it failed (false).
    pub last: Option<(bool, String)>,
    /// Actions sent to the loop and not answered yet.
    pub pending: usize,
}

impl Actions {
    /// A dialog has the keyboard.
    pub fn dialog(&self) -> bool {
        self.confirm.is_some() || self.secret.is_some()
    }
}

impl App {
    /// The Application under the cursor, or a flash saying why there is none.
    fn selected_app(&mut self) -> Option<(String, String)> {
        match self.table.view.get(self.table.selected_row) {
            Some(RowKey::App { name, namespace }) => Some((namespace.clone(), name.clone())),
            Some(RowKey::Set { name, .. }) => {
                self.flash(format!(
                    "{name} is an ApplicationSet: select one of its Applications to sync or refresh"
                ));
                None
            }
            None => {
                self.flash("No Application selected");
                None
            }
        }
    }

    /// An action key on the Applications table.
    pub(super) fn on_app_action(&mut self, action: Action) -> Option<Effect> {
        let intent = match action {
            Action::Sync => {
                let (namespace, name) = self.selected_app()?;
                Intent::Sync { namespace, name }
            }
            Action::Refresh | Action::HardRefresh => {
                let (namespace, name) = self.selected_app()?;
                Intent::Refresh {
                    namespace,
                    name,
                    hard: action == Action::HardRefresh,
                }
            }
            Action::ShowPassword => Intent::Password(PasswordUse::Show),
            Action::CopyPassword => Intent::Password(PasswordUse::Copy),
            _ => return None,
        };
        match intent.question() {
            Some(q) => {
                self.acts.confirm = Some((q, intent));
                None
            }
            None => self.send_intent(intent),
        }
    }

    fn send_intent(&mut self, intent: Intent) -> Option<Effect> {
        self.acts.pending += 1;
        let what = match &intent {
            Intent::Sync { namespace, name } => format!("Asking Argo CD to sync {namespace}/{name}…"),
            Intent::Refresh { namespace, name, hard } => format!(
                "Asking Argo CD for a {}refresh of {namespace}/{name}…",
                if *hard { "hard " } else { "" }
            ),
            Intent::Password(_) => "Reading the Argo CD admin password…".into(),
        };
        self.flash(what);
        Some(Effect::Act(intent))
    }

    /// `y`/`n` in a dialog.
    pub(super) fn on_dialog(&mut self, action: Action) -> Option<Effect> {
        if let Some(value) = &self.acts.secret {
            return match action {
                Action::Yes => {
                    let value = value.clone();
                    Some(self.copied(value))
                }
                _ => {
                    self.acts.secret = None;
                    None
                }
            };
        }
        let (_, intent) = self.acts.confirm.take()?;
        match action {
            Action::Yes => self.send_intent(intent),
            _ => {
                self.flash("Cancelled: nothing was changed");
                None
            }
        }
    }

    /// The loop's answer to a sync or refresh: a flash and the last-action line.
    pub(super) fn on_acted(&mut self, result: Result<String, String>) {
        self.acts.pending = self.acts.pending.saturating_sub(1);
        let (ok, text) = match result {
            Ok(t) => (true, t),
            Err(e) => (false, e),
        };
        tracing::info!(ok, "{text}");
        self.flash(if ok {
            format!("✓ {text}")
        } else {
            format!("✗ {text}")
        });
        self.acts.last = Some((ok, text));
    }

    /// Says the password went to the clipboard (never what it is) and asks
    /// the loop to write it there.
    fn copied(&mut self, value: Secret) -> Effect {
        let text = "copied the Argo CD admin password to the clipboard (OSC 52)".to_string();
        self.flash(format!("✓ {text}"));
        self.acts.last = Some((true, text));
        Effect::Copy(value)
    }

    /// The loop read the password: a popup, or the clipboard (the loop
    /// writes it on [`Effect::Copy`]). `Ok(None)`: the Secret is gone.
    pub(super) fn on_password(
        &mut self,
        purpose: PasswordUse,
        result: Result<Option<Secret>, String>,
    ) -> Option<Effect> {
        self.acts.pending = self.acts.pending.saturating_sub(1);
        let secret = crate::argocd::actions::ADMIN_SECRET;
        let ns = crate::argocd::ARGOCD_NAMESPACE;
        match result {
            Ok(Some(value)) => match purpose {
                PasswordUse::Show => {
                    self.flash = None; // "Reading the Argo CD admin password…"
                    self.acts.secret = Some(value);
                    None
                }
                PasswordUse::Copy => Some(self.copied(value)),
            },
            Ok(None) => {
                let text = format!(
                    "Secret {ns}/{secret} does not exist: Argo CD creates it at first start, and it may have been deleted after the password was changed"
                );
                self.flash(format!("✗ {text}"));
                self.acts.last = Some((false, text));
                None
            }
            Err(e) => {
                self.flash(format!("✗ {e}"));
                self.acts.last = Some((false, e));
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
