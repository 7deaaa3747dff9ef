//! The Applications table: every Application and ApplicationSet the
//! watchers report, the filtered and sorted rows, the selection.

use crate::argocd::AppSummary;
use crate::tui::watch::{AppSetSummary, WatchMsg, WatchStatus};
use std::collections::BTreeMap;

/// Row kinds in the Applications table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKey {
    Set { name: String, namespace: String },
    App { name: String, namespace: String },
}

/// Where an Application or ApplicationSet stands, for colour and symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Ready,
    Progressing,
    OutOfSync,
    Failing,
    Unknown,
}

impl RowState {
    pub fn of_app(a: &AppSummary) -> RowState {
        if a.error().is_some() || matches!(a.health.as_str(), "Degraded" | "Missing") {
            RowState::Failing
        } else if a.operation_phase == "Running" || a.operation_phase == "Terminating" || a.health == "Progressing" {
            RowState::Progressing
        } else if a.sync == "OutOfSync" {
            RowState::OutOfSync
        } else if a.is_ready() {
            RowState::Ready
        } else {
            RowState::Unknown
        }
    }
    pub fn of_set(s: &AppSetSummary) -> RowState {
        if s.error().is_some() {
            RowState::Failing
        } else if s.up_to_date() {
            RowState::Ready
        } else if s.conditions.is_empty() {
            RowState::Unknown
        } else {
            RowState::Progressing
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            RowState::Ready => "✓",
            RowState::Progressing => "↻",
            RowState::OutOfSync => "≠",
            RowState::Failing => "✗",
            RowState::Unknown => "?",
        }
    }
}

/// Counts for the Applications title.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub apps: usize,
    pub sets: usize,
    pub ready: usize,
    pub progressing: usize,
    pub out_of_sync: usize,
    pub failing: usize,
}

pub struct AppsTable {
    pub apps: BTreeMap<(String, String), AppSummary>,
    pub sets: BTreeMap<(String, String), AppSetSummary>,
    pub apps_status: WatchStatus,
    pub sets_status: WatchStatus,
    /// Filtered, sorted rows: rebuilt on change, never per frame.
    pub view: Vec<RowKey>,
    pub counts: Counts,
    pub selected_row: usize,
    /// First visible row.
    pub offset: usize,
    pub filter: String,
    /// The filter prompt has the keyboard.
    pub filter_input: bool,
    /// The CI → CD loop: PipelineRuns and Rollouts, drawn under the table.
    pub delivery: crate::delivery::Delivery,
}

impl Default for AppsTable {
    fn default() -> Self {
        AppsTable {
            apps: BTreeMap::new(),
            sets: BTreeMap::new(),
            apps_status: WatchStatus::NoCluster,
            sets_status: WatchStatus::NoCluster,
            view: Vec::new(),
            counts: Counts::default(),
            selected_row: 0,
            offset: 0,
            filter: String::new(),
            filter_input: false,
            delivery: Default::default(),
        }
    }
}

impl AppsTable {
    /// One watcher message; the rows are rebuilt when the objects change.
    pub fn on_watch(&mut self, w: WatchMsg) {
        match w {
            WatchMsg::AppsStatus(s) => self.apps_status = s,
            WatchMsg::SetsStatus(s) => self.sets_status = s,
            WatchMsg::AppsReset(list) => self.set_apps(list),
            WatchMsg::AppApplied(a) => {
                let a = *a;
                self.apps.insert((a.name.clone(), a.namespace.clone()), a);
                self.rebuild_view();
            }
            WatchMsg::AppDeleted { namespace, name } => {
                self.apps.remove(&(name, namespace));
                self.rebuild_view();
            }
            WatchMsg::SetsReset(list) => {
                self.sets = list
                    .into_iter()
                    .map(|s| ((s.name.clone(), s.namespace.clone()), s))
                    .collect();
                self.rebuild_view();
            }
            WatchMsg::SetApplied(s) => {
                self.sets.insert((s.name.clone(), s.namespace.clone()), s);
                self.rebuild_view();
            }
            WatchMsg::SetDeleted { namespace, name } => {
                self.sets.remove(&(name, namespace));
                self.rebuild_view();
            }
            WatchMsg::Delivery(d) => self.delivery = *d,
        }
    }

    /// Replaces all Applications at once.
    pub fn set_apps(&mut self, apps: impl IntoIterator<Item = AppSummary>) {
        self.apps = apps
            .into_iter()
            .map(|a| ((a.name.clone(), a.namespace.clone()), a))
            .collect();
        self.rebuild_view();
    }

    /// Filters and sorts once per change (ApplicationSets first, then
    /// Applications, each by name), keeping the selected row selected.
    pub fn rebuild_view(&mut self) {
        let selected = self.view.get(self.selected_row).cloned();
        let q = self.filter.to_lowercase();
        let hit = |fields: &[&str]| q.is_empty() || fields.iter().any(|f| contains_ci(f, &q));
        let mut counts = Counts::default();
        let mut view = Vec::with_capacity(self.sets.len() + self.apps.len());
        for (name, ns) in self.sets.keys() {
            counts.sets += 1;
            if hit(&[name, ns, "applicationset"]) {
                view.push(RowKey::Set {
                    name: name.clone(),
                    namespace: ns.clone(),
                });
            }
        }
        for ((name, ns), a) in &self.apps {
            counts.apps += 1;
            match RowState::of_app(a) {
                RowState::Ready => counts.ready += 1,
                RowState::Progressing => counts.progressing += 1,
                RowState::OutOfSync => counts.out_of_sync += 1,
                RowState::Failing => counts.failing += 1,
                RowState::Unknown => {}
            }
            let owner = a.owner_appset.as_deref().unwrap_or_default();
            if hit(&[name, ns, &a.project, &a.sync, &a.health, &a.operation_phase, owner]) {
                view.push(RowKey::App {
                    name: name.clone(),
                    namespace: ns.clone(),
                });
            }
        }
        self.view = view;
        self.counts = counts;
        self.selected_row = match selected.and_then(|k| self.view.iter().position(|v| *v == k)) {
            // The top row stays the top row (a fresh list keeps its head in view).
            _ if self.selected_row == 0 => 0,
            Some(i) => i,
            None => self.selected_row.min(self.view.len().saturating_sub(1)),
        };
    }

    /// Keeps the selected row inside a window of `rows` rows.
    pub fn clamp_offset(&mut self, rows: usize) {
        self.offset = window_offset(self.offset, self.selected_row, rows.max(1), self.view.len());
    }

    pub fn app(&self, name: &str, namespace: &str) -> Option<&AppSummary> {
        self.apps.get(&(name.to_string(), namespace.to_string()))
    }

    pub fn set(&self, name: &str, namespace: &str) -> Option<&AppSetSummary> {
        self.sets.get(&(name.to_string(), namespace.to_string()))
    }

    /// Applications an ApplicationSet generated: the ones it owns, then the
    /// names in its status we have not seen yet.
    pub fn generated_by(&self, set: &AppSetSummary) -> Vec<(String, Option<&AppSummary>)> {
        let mut out: Vec<(String, Option<&AppSummary>)> = self
            .apps
            .values()
            .filter(|a| a.owner_appset.as_deref() == Some(set.name.as_str()) && a.namespace == set.namespace)
            .map(|a| (a.name.clone(), Some(a)))
            .collect();
        for n in &set.generated {
            if !out.iter().any(|(name, _)| name == n) {
                out.push((n.clone(), None));
            }
        }
        out
    }
}

fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        true
    } else if hay.is_ascii() && needle_lower.is_ascii() {
        hay.as_bytes()
            .windows(needle_lower.len())
            .any(|w| w.eq_ignore_ascii_case(needle_lower.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle_lower)
    }
}

/// The first visible row so that `selected` is inside a window of `rows`.
pub fn window_offset(offset: usize, selected: usize, rows: usize, len: usize) -> usize {
    let rows = rows.max(1);
    let mut off = offset.min(selected);
    if selected >= off + rows {
        off = selected + 1 - rows;
    }
    off.min(len.saturating_sub(rows))
}
