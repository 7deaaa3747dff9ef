//! Frame render time of the Applications view with 1,000 and 10,000
//! Applications (targets: median < 2 ms and < 20 ms).
//!
//! - `apps_frame/N`: one whole frame as the TUI draws it (`ui::draw` through
//!   `Terminal::draw` on ratatui's `TestBackend`, 200x50): title bar, table,
//!   hint bar, and the backend diff. The targets apply to this.
//! - `apps_table/N`: the table alone into a buffer (`AppsBench::render`).
//! - `apps_event_and_frame/N`: one watch event (an Application changed,
//!   `AppsBench::applied`) on a table of N, the view rebuilt, plus one table
//!   render: what each change costs before the next frame (target < 20 ms
//!   at 10,000, the frame budget).
//! - `apps_load_and_frame/N`: building the whole state from N summaries
//!   (cloning them in, the map, the view) plus one table render
//!   (`render_apps_for_bench`): what a (re)list costs; info, no target (a
//!   watch relists on start and after an outage only).
//!
//! `cargo bench --bench tui`; `benches/run.sh` reads criterion's estimates.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kindops::argocd::{AppSummary, ResourceStatus};
use kindops::tui::app::{App, Mode};
use kindops::tui::watch::WatchStatus;
use kindops::tui::{render_apps_for_bench, ui, AppsBench};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

const W: u16 = 200;
const H: u16 = 50;

/// `n` Applications as a busy cluster shows them: a mix of states, a third
/// owned by ApplicationSets, a few resources each.
fn apps(n: usize) -> Vec<AppSummary> {
    let syncs = ["Synced", "OutOfSync", "Synced", "Unknown", "Synced"];
    let healths = ["Healthy", "Progressing", "Healthy", "Degraded", "Missing", "Healthy"];
    (0..n)
        .map(|i| AppSummary {
            namespace: "argocd".into(),
            name: format!("service-{i:05}-{}", ["api", "worker", "web", "db"][i % 4]),
            project: "default".into(),
            sync: syncs[i % syncs.len()].into(),
            revision: format!("{:040x}", i as u128 * 0x9e3779b97f4a7c15),
            health: healths[i % healths.len()].into(),
            health_message: if i % 7 == 0 {
                "Deployment is waiting for rollout to finish".into()
            } else {
                String::new()
            },
            operation_phase: "Succeeded".into(),
            operation_message: "successfully synced (all tasks run)".into(),
            operation_revisions: vec![],
            compared_revisions: vec![],
            operation_requested: false,
            last_sync: "2026-11-21T06:00:00Z".into(),
            conditions: vec![],
            resources: (0..3)
                .map(|r| ResourceStatus {
                    group: "apps".into(),
                    kind: "Deployment".into(),
                    namespace: format!("ns-{}", i % 50),
                    name: format!("svc-{i}-{r}"),
                    status: "Synced".into(),
                    health: "Healthy".into(),
                    requires_pruning: false,
                    health_message: String::new(),
                })
                .collect(),
            owner_appset: (i % 3 == 0).then(|| format!("set-{}", i % 20)),
        })
        .collect()
}

fn frame_app(list: &[AppSummary]) -> App {
    let mut app = App::new(Mode::Status, false, false, None);
    app.table.apps_status = WatchStatus::Live;
    app.wall = SystemTime::now();
    app.size = (W, H);
    app.table.set_apps(list.iter().cloned());
    app
}

fn bench(c: &mut Criterion) {
    for n in [1_000usize, 10_000] {
        let list = apps(n);

        let app = frame_app(&list);
        let mut term = Terminal::new(TestBackend::new(W, H)).expect("test backend");
        c.bench_with_input(BenchmarkId::new("apps_frame", n), &n, |b, _| {
            b.iter(|| {
                term.draw(|f| ui::draw(f, &app)).expect("draw");
                // Force a full redraw next time, as a changing table would.
                term.clear().expect("clear");
            })
        });

        let mut table = AppsBench::new(&list);
        table.select(n / 2);
        c.bench_with_input(BenchmarkId::new("apps_table", n), &n, |b, _| {
            b.iter(|| black_box(table.render(W, H)))
        });

        let mut live = AppsBench::new(&list);
        let mut changed = list[n / 2].clone();
        let mut flip = false;
        c.bench_with_input(BenchmarkId::new("apps_event_and_frame", n), &n, |b, _| {
            b.iter(|| {
                // Alternate the health so every event is a real change.
                flip = !flip;
                changed.health = if flip { "Progressing" } else { "Healthy" }.into();
                live.applied(changed.clone());
                black_box(live.render(W, H))
            })
        });

        c.bench_with_input(BenchmarkId::new("apps_load_and_frame", n), &n, |b, _| {
            b.iter(|| black_box(render_apps_for_bench(&list, W, H)))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .without_plots();
    targets = bench
}
criterion_main!(benches);
