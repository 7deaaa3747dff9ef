//! Test fixtures shared by the `update()` tests and the screen snapshots.

use crate::argocd::{AppCondition, AppSummary, ResourceStatus};
use crate::engine::event::{Event, Failure, PhaseInfo, RunOutcome, Stamped, Stream};
use crate::tui::app::{App, Effect, Mode, Msg};
use crate::tui::watch::{AppSetSummary, SetCondition, WatchMsg, WatchStatus};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, SystemTime};

/// 2026-08-01T12:00:00Z
pub fn wall() -> SystemTime {
    humantime::parse_rfc3339("2026-08-01T12:00:00Z").unwrap()
}

/// The phases as the engine announces them (`RunStarted`): the real
/// embedded plan, so a snapshot shows what a learner sees.
pub fn phases() -> Vec<PhaseInfo> {
    let plan = crate::plan::Plan::load(&crate::plan::phase_source(None), &crate::content::Content::embedded())
        .expect("the embedded plan loads");
    plan.phases
        .iter()
        .map(|p| PhaseInfo {
            number: p.phase,
            title: p.title.clone(),
            explain: p.explain.clone(),
            steps: p.steps.iter().map(crate::plan::Step::label).collect(),
        })
        .collect()
}

/// The label the engine sends with `StepStarted`: the plan's.
pub fn label(phase: u8, step: usize) -> String {
    phases()[phase as usize].steps[step].clone()
}

pub fn st(ms: u64, event: Event) -> Msg {
    Msg::Engine(Stamped { elapsed_ms: ms, event })
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Sends several messages; returns the effects in order.
pub fn send(app: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    msgs.into_iter().filter_map(|m| app.update(m)).collect()
}

pub fn new_up(w: u16, h: u16) -> App {
    let mut app = App::new(Mode::Up, false, false, Some("/tmp/kindops/up.log".into()));
    app.update(Msg::Resize(w, h));
    app.update(Msg::Tick {
        now_ms: 0,
        wall: wall(),
    });
    app
}

fn log(ms: u64, phase: u8, step: usize, stream: Stream, line: &str) -> Msg {
    st(
        ms,
        Event::StepLog {
            phase,
            step,
            stream,
            line: line.into(),
        },
    )
}

fn started(ms: u64, phase: u8, step: usize) -> Msg {
    st(
        ms,
        Event::StepStarted {
            phase,
            step,
            label: label(phase, step),
        },
    )
}

fn finished_step(ms: u64, phase: u8, step: usize, changed: bool, message: &str, elapsed_ms: u64) -> Msg {
    st(
        ms,
        Event::StepFinished {
            phase,
            step,
            changed,
            message: message.into(),
            elapsed: Duration::from_millis(elapsed_ms),
        },
    )
}

/// Phase 0 done, phase 1 waiting for its rollouts (step 3 of 5), with the
/// log lines, progress and results the engine sends (preflight verdicts,
/// the kind command line and kind's own stderr).
pub fn mid_run(w: u16, h: u16) -> App {
    let mut app = new_up(w, h);
    let pre = |ms: u64, line: &str| log(ms, 0, 0, Stream::Kindops, line);
    let kind = |ms: u64, line: &str| log(ms, 0, 1, Stream::Stderr, line);
    send(
        &mut app,
        [
            st(
                0,
                Event::RunStarted {
                    phases: phases(),
                    target: "kind cluster kindops (context kind-kindops)".into(),
                },
            ),
            st(5, Event::PhaseStarted { phase: 0 }),
            started(6, 0, 0),
            pre(20, "ok      docker    Docker engine 28.5.1 (API 1.51)"),
            pre(21, "ok      resources 4 CPUs, 15.5 GiB memory for containers"),
            pre(22, "ok      kind      kind at /usr/local/bin/kind"),
            pre(23, "ok      kubectl   kubectl at /usr/local/bin/kubectl"),
            pre(24, "ok      git       git at /usr/bin/git"),
            pre(25, "ok      ports     127.0.0.1:8080 is free"),
            pre(26, "ok      inotify   inotify max_user_watches=524288, max_user_instances=512"),
            pre(27, "ok      disk      187.3 GiB free at /home/learner/.local/share/kindops"),
            pre(
                38,
                "ok      upstream  argo-cd v3.5.1 install-v3.5.1.yaml (sha256 3b2f8c41d09a…, cache)",
            ),
            finished_step(
                40,
                0,
                0,
                false,
                "8 checks passed, 0 warnings; 8 upstream artifacts verified",
                34,
            ),
            started(41, 0, 1),
            log(
                50,
                0,
                1,
                Stream::Kindops,
                "$ kind create cluster --name kindops --config /home/learner/.local/share/kindops/kindops/kind-config.yaml",
            ),
            kind(900, "Creating cluster \"kindops\" ..."),
            kind(30_000, " ✓ Preparing nodes 📦"),
            kind(30_500, " ✓ Writing configuration 📜"),
            kind(30_800, " ✓ Installing CNI 🔌"),
            kind(30_900, "Set kubectl context to \"kind-kindops\""),
            finished_step(
                38_000,
                0,
                1,
                true,
                "created kind cluster kindops, context kind-kindops",
                37_959,
            ),
            st(
                38_000,
                Event::ClusterReady {
                    context: "kind-kindops".into(),
                },
            ),
            started(38_000, 0, 2),
            finished_step(
                38_001,
                0,
                2,
                false,
                "no --mirror directory: the nodes pull images from their registries",
                1,
            ),
            started(38_001, 0, 3),
            finished_step(
                38_001,
                0,
                3,
                false,
                "local registry localhost:5001 (container kindops-registry, volume kindops-registry-data)",
                0,
            ),
            st(
                38_001,
                Event::PhaseFinished {
                    phase: 0,
                    elapsed: Duration::from_millis(37_996),
                },
            ),
            st(38_002, Event::PhaseStarted { phase: 1 }),
            started(38_003, 1, 0),
            log(
                38_010,
                1,
                0,
                Stream::Kindops,
                "GitOps content materialized in /tmp/.tmpq3XbLz",
            ),
            finished_step(38_200, 1, 0, true, "60 objects (3 CRDs), 60 changed", 197),
            started(38_201, 1, 1),
            finished_step(41_000, 1, 1, true, "126 objects (15 CRDs), 126 changed", 2_799),
            started(41_001, 1, 2),
            finished_step(41_400, 1, 2, true, "25 objects (25 CRDs), 25 changed", 399),
            started(41_401, 1, 3),
            finished_step(41_600, 1, 3, true, "5 objects (5 CRDs), 5 changed", 199),
            started(41_601, 1, 4),
            st(
                45_000,
                Event::StepProgress {
                    phase: 1,
                    step: 4,
                    message: ROLLOUT_PROGRESS.into(),
                },
            ),
        ],
    );
    app.update(Msg::Tick {
        now_ms: 52_300,
        wall: wall(),
    });
    app
}

/// Phases 0–1 done, phase 2 waiting for its Application (the repo
/// published, the Application applied), with the Applications watcher live:
/// the phases screen shows the Applications table beside the steps.
pub fn phase_2_run(w: u16, h: u16) -> App {
    let mut app = mid_run(w, h);
    let mut msgs = vec![finished_step(52_000, 1, 4, true, "14 workloads Available", 10_399)];
    for step in 5..7 {
        let ms = 52_001 + step as u64;
        msgs.push(started(ms, 1, step));
        msgs.push(finished_step(ms, 1, step, false, "", 0));
    }
    msgs.extend([
        st(
            52_010,
            Event::PhaseFinished {
                phase: 1,
                elapsed: Duration::from_millis(14_008),
            },
        ),
        st(52_011, Event::PhaseStarted { phase: 2 }),
        started(52_012, 2, 0),
        log(52_100, 2, 0, Stream::Kindops, "$ git push origin HEAD:main"),
        finished_step(
            53_000,
            2,
            0,
            true,
            "pushed 1 commit to file:///var/lib/kindops/git/gitops.git; asked Argo CD to refresh 0 objects",
            988,
        ),
        started(53_001, 2, 1),
        finished_step(53_200, 2, 1, true, "1 objects, 1 changed", 199),
        started(53_201, 2, 2),
        st(
            55_000,
            Event::StepProgress {
                phase: 2,
                step: 2,
                message: "0/1 Synced+Healthy; waiting for argo-cd (OutOfSync/Healthy)".into(),
            },
        ),
    ]);
    send(&mut app, msgs);
    app.update(Msg::Tick {
        now_ms: 61_000,
        wall: wall(),
    });
    with_apps(app)
}

/// What `wait-rollouts` reports while Argo CD's server is not Available yet.
pub const ROLLOUT_PROGRESS: &str = "9/14 workloads Available; waiting for Deployment argocd/argocd-server (0/1 available, 1 updated, 0 old; Available False: Deployment does not have minimum availability.)";

/// How `wait-rollouts` fails at its deadline (phase 1 waits 10m).
pub fn failure() -> Failure {
    Failure {
        object: Some("Deployment argocd/argocd-server".into()),
        reason: "not Available within 10m: Deployment argocd/argocd-server (0/1 available, 1 updated, 0 old; Available False: Deployment does not have minimum availability.). Look at: kubectl -n argocd describe deployment argocd-server; kubectl -n argocd get pods".into(),
        hint: Some("a workload is not Available: look at its pods' events (image pulls, scheduling, resources)".into()),
        output_tail: vec![],
    }
}

/// `mid_run` with the waiting step failed at its deadline.
pub fn failed(w: u16, h: u16) -> App {
    let mut app = mid_run(w, h);
    app.update(st(
        641_001,
        Event::StepFailed {
            phase: 1,
            step: 4,
            failure: failure(),
            elapsed: Duration::from_secs(600),
        },
    ));
    app.update(Msg::Tick {
        now_ms: 641_500,
        wall: wall(),
    });
    app
}

pub fn sample_apps() -> Vec<AppSummary> {
    let app = |name: &str, project: &str, sync: &str, health: &str, op: &str, last: &str| AppSummary {
        namespace: "argocd".into(),
        name: name.into(),
        project: project.into(),
        sync: sync.into(),
        revision: if sync.is_empty() {
            String::new()
        } else {
            "4f1c2a9e0b7d6c5a4f1c2a9e0b7d6c5a4f1c2a9e".into()
        },
        health: health.into(),
        operation_phase: op.into(),
        last_sync: last.into(),
        ..Default::default()
    };
    let mut argocd = app(
        "argo-cd",
        "default",
        "Synced",
        "Healthy",
        "Succeeded",
        "2026-08-01T11:55:00Z",
    );
    argocd.resources = vec![
        ResourceStatus {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "argocd".into(),
            name: "argocd-server".into(),
            status: "Synced".into(),
            health: "Healthy".into(),
            requires_pruning: false,
            health_message: String::new(),
        },
        ResourceStatus {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: "argocd".into(),
            name: "argocd-cm".into(),
            status: "Synced".into(),
            health: "".into(),
            requires_pruning: false,
            health_message: String::new(),
        },
    ];
    let mut metrics = app(
        "metrics-server",
        "default",
        "OutOfSync",
        "Healthy",
        "",
        "2026-08-01T11:59:20Z",
    );
    metrics.resources = vec![ResourceStatus {
        group: "apps".into(),
        kind: "Deployment".into(),
        namespace: "kube-system".into(),
        name: "metrics-server".into(),
        status: "OutOfSync".into(),
        health: "Healthy".into(),
        requires_pruning: false,
        health_message: String::new(),
    }];
    let mut eso = app(
        "external-secrets",
        "default",
        "Synced",
        "Progressing",
        "Running",
        "2026-08-01T11:59:58Z",
    );
    eso.health_message = "Waiting for rollout to finish: 0 of 1 updated replicas are available...".into();
    eso.operation_message = "waiting for healthy state of apps/Deployment/external-secrets-webhook".into();
    let mut cart = app(
        "cart",
        "default",
        "OutOfSync",
        "Degraded",
        "Failed",
        "2026-08-01T10:12:00Z",
    );
    cart.owner_appset = Some("coffee".into());
    cart.operation_message = "one or more objects failed to apply, reason: Deployment.apps \"cart\" is invalid: spec.template.spec.containers[0].image: Required value".into();
    cart.conditions = vec![AppCondition {
        kind: "SyncError".into(),
        message: "Failed sync attempt to 4f1c2a9: one or more objects failed to apply".into(),
    }];
    cart.health_message = "Deployment \"cart\" exceeded its progress deadline".into();
    cart.resources = vec![
        ResourceStatus {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "coffee".into(),
            name: "cart".into(),
            status: "OutOfSync".into(),
            health: "Degraded".into(),
            requires_pruning: false,
            health_message: String::new(),
        },
        ResourceStatus {
            group: "".into(),
            kind: "Service".into(),
            namespace: "coffee".into(),
            name: "cart".into(),
            status: "Synced".into(),
            health: "Healthy".into(),
            requires_pruning: false,
            health_message: String::new(),
        },
        ResourceStatus {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: "coffee".into(),
            name: "cart-old".into(),
            status: "OutOfSync".into(),
            health: "".into(),
            requires_pruning: true,
            health_message: String::new(),
        },
    ];
    let mut order = app(
        "order",
        "default",
        "Synced",
        "Healthy",
        "Succeeded",
        "2026-08-01T11:58:00Z",
    );
    order.owner_appset = Some("coffee".into());
    let rollouts = app("argo-rollouts", "default", "", "", "", "");
    vec![argocd, metrics, eso, cart, order, rollouts]
}

pub fn sample_set() -> AppSetSummary {
    AppSetSummary {
        namespace: "argocd".into(),
        name: "coffee".into(),
        conditions: vec![
            SetCondition {
                kind: "ErrorOccurred".into(),
                status: "False".into(),
                message: "Successfully generated parameters for all Applications".into(),
            },
            SetCondition {
                kind: "ResourcesUpToDate".into(),
                status: "True".into(),
                message: "ApplicationSet up to date".into(),
            },
        ],
        generated: vec!["cart".into(), "order".into(), "tea".into()],
    }
}

pub fn with_apps(mut app: App) -> App {
    send(
        &mut app,
        [
            Msg::Watch(WatchMsg::AppsStatus(WatchStatus::Live)),
            Msg::Watch(WatchMsg::AppsReset(sample_apps())),
            Msg::Watch(WatchMsg::SetsReset(vec![sample_set()])),
        ],
    );
    app
}

pub fn status_app(w: u16, h: u16) -> App {
    let mut app = App::new(Mode::Status, false, false, None);
    app.update(Msg::Resize(w, h));
    app.update(Msg::Tick {
        now_ms: 0,
        wall: wall(),
    });
    with_apps(app)
}

/// Draws the app into a `TestBackend` of its size.
pub fn render(app: &App) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| crate::tui::ui::draw(f, app)).unwrap();
    t
}

/// The screen as plain text lines.
pub fn screen_text(app: &App) -> String {
    let t = render(app);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

pub fn finished(app: &mut App, outcome: RunOutcome, failure: Option<Failure>) {
    app.update(st(400_000, Event::RunFinished { outcome, failure }));
}
