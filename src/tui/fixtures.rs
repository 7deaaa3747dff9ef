//! Test fixtures shared by the `update()` tests and the screen snapshots.

use crate::argo::{AppCondition, AppSummary, ResourceStatus};
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

pub fn phases() -> Vec<PhaseInfo> {
    let p = |n: u8, title: &str, explain: &str, steps: &[&str]| PhaseInfo {
        number: n,
        title: title.into(),
        explain: explain.into(),
        steps: steps.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        p(0, "Create the kind cluster", "A Kubernetes cluster in Docker containers on this laptop: one control-plane node, ports mapped to localhost.", &["Check docker", "Create cluster kindops", "Wait for the node to be Ready"]),
        p(1, "Install Argo CD by hand", "We apply Argo CD's install manifest once with server-side apply. From phase 2 on, Argo CD manages itself from git.", &["Create namespace argocd", "Apply install.yaml (server-side)", "Wait for argocd-server", "Show the admin password"]),
        p(2, "Argo CD manages itself", "An Application named argocd points at this repo's argocd overlay: changes to Argo CD now go through git.", &["Register Application argocd", "Wait for Synced and Healthy"]),
        p(3, "Platform add-ons", "metrics-server, External Secrets Operator and Argo Rollouts, each an Application.", &["Register add-on Applications", "Wait for add-ons"]),
        p(4, "Products via an ApplicationSet", "An ApplicationSet watches applications/coffee/* and creates one Application per directory.", &["Register ApplicationSet coffee", "Wait for cart and order"]),
    ]
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

/// Phase 0 done, phase 1 running its third step, some log lines.
pub fn mid_run(w: u16, h: u16) -> App {
    let mut app = new_up(w, h);
    send(
        &mut app,
        [
            st(
                0,
                Event::RunStarted {
                    phases: phases(),
                    target: "kind-kindops".into(),
                },
            ),
            st(5, Event::PhaseStarted { phase: 0 }),
            st(
                6,
                Event::StepStarted {
                    phase: 0,
                    step: 0,
                    label: "Check docker".into(),
                },
            ),
            st(
                40,
                Event::StepFinished {
                    phase: 0,
                    step: 0,
                    changed: false,
                    message: "docker 28.1 running".into(),
                    elapsed: Duration::from_millis(34),
                },
            ),
            st(
                41,
                Event::StepStarted {
                    phase: 0,
                    step: 1,
                    label: "Create cluster kindops".into(),
                },
            ),
            log(
                50,
                0,
                1,
                Stream::Kindops,
                "$ kind create cluster --name kindops --config /tmp/kind.yaml",
            ),
            log(900, 0, 1, Stream::Stderr, "Creating cluster \"kindops\" ..."),
            log(
                20_000,
                0,
                1,
                Stream::Stderr,
                " ✓ Ensuring node image (kindest/node:v1.36.1)",
            ),
            log(30_000, 0, 1, Stream::Stderr, " ✓ Preparing nodes"),
            st(
                31_000,
                Event::StepFinished {
                    phase: 0,
                    step: 1,
                    changed: true,
                    message: "created".into(),
                    elapsed: Duration::from_millis(30_959),
                },
            ),
            st(
                31_001,
                Event::StepStarted {
                    phase: 0,
                    step: 2,
                    label: "Wait for the node to be Ready".into(),
                },
            ),
            st(
                38_000,
                Event::StepFinished {
                    phase: 0,
                    step: 2,
                    changed: true,
                    message: "1/1 nodes Ready".into(),
                    elapsed: Duration::from_millis(6_999),
                },
            ),
            st(
                38_001,
                Event::PhaseFinished {
                    phase: 0,
                    elapsed: Duration::from_millis(37_996),
                },
            ),
            st(38_002, Event::PhaseStarted { phase: 1 }),
            st(
                38_003,
                Event::StepStarted {
                    phase: 1,
                    step: 0,
                    label: "Create namespace argocd".into(),
                },
            ),
            st(
                38_200,
                Event::StepFinished {
                    phase: 1,
                    step: 0,
                    changed: true,
                    message: "created".into(),
                    elapsed: Duration::from_millis(197),
                },
            ),
            st(
                38_201,
                Event::StepStarted {
                    phase: 1,
                    step: 1,
                    label: "Apply install.yaml (server-side)".into(),
                },
            ),
            log(
                38_210,
                1,
                1,
                Stream::Kindops,
                "server-side apply of 59 objects, field manager kindops",
            ),
            st(
                41_000,
                Event::StepFinished {
                    phase: 1,
                    step: 1,
                    changed: true,
                    message: "59 objects applied".into(),
                    elapsed: Duration::from_millis(2_799),
                },
            ),
            st(
                41_001,
                Event::StepStarted {
                    phase: 1,
                    step: 2,
                    label: "Wait for argocd-server".into(),
                },
            ),
            st(
                45_000,
                Event::StepProgress {
                    phase: 1,
                    step: 2,
                    message: "3/7 Deployments Available".into(),
                },
            ),
            log(
                45_001,
                1,
                2,
                Stream::Stdout,
                "deployment.apps/argocd-redis condition met",
            ),
        ],
    );
    app.update(Msg::Tick {
        now_ms: 52_300,
        wall: wall(),
    });
    app
}

pub fn failure() -> Failure {
    Failure {
        object: Some("Deployment argocd/argocd-server".into()),
        reason: "not Available after 5m0s: 0/1 replicas ready (ImagePullBackOff: quay.io/argoproj/argocd:v3.5.1)".into(),
        hint: Some("check the node can pull images (docker login, proxy), then press r to retry".into()),
        output_tail: (1..=12).map(|i| format!("kubectl: waiting for deployment \"argocd-server\" rollout to finish: 0 of 1 updated replicas are available ({i})")).collect(),
    }
}

/// `mid_run` with the waiting step failed.
pub fn failed(w: u16, h: u16) -> App {
    let mut app = mid_run(w, h);
    app.update(st(
        341_001,
        Event::StepFailed {
            phase: 1,
            step: 2,
            failure: failure(),
            elapsed: Duration::from_secs(300),
        },
    ));
    app.update(Msg::Tick {
        now_ms: 341_500,
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
        "argocd",
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
        },
        ResourceStatus {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: "argocd".into(),
            name: "argocd-cm".into(),
            status: "Synced".into(),
            health: "".into(),
            requires_pruning: false,
        },
    ];
    let mut metrics = app(
        "metrics-server",
        "platform",
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
    }];
    let mut eso = app(
        "external-secrets",
        "platform",
        "Synced",
        "Progressing",
        "Running",
        "2026-08-01T11:59:58Z",
    );
    eso.health_message = "Waiting for rollout to finish: 0 of 1 updated replicas are available...".into();
    eso.operation_message = "waiting for healthy state of apps/Deployment/external-secrets-webhook".into();
    let mut cart = app(
        "cart",
        "products",
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
        },
        ResourceStatus {
            group: "".into(),
            kind: "Service".into(),
            namespace: "coffee".into(),
            name: "cart".into(),
            status: "Synced".into(),
            health: "Healthy".into(),
            requires_pruning: false,
        },
        ResourceStatus {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: "coffee".into(),
            name: "cart-old".into(),
            status: "OutOfSync".into(),
            health: "".into(),
            requires_pruning: true,
        },
    ];
    let mut order = app(
        "order",
        "products",
        "Synced",
        "Healthy",
        "Succeeded",
        "2026-08-01T11:58:00Z",
    );
    order.owner_appset = Some("coffee".into());
    let rollouts = app("argo-rollouts", "platform", "", "", "", "");
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
