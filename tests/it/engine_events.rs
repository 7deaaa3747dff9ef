//! The engine in process against the shared test bed's real API server: the
//! typed events it sends on its channel, in order, not the text a printer
//! makes of them. Phases 0 and 1 for `--context kindops-testbed` with the
//! embedded plan and the test mirror; a re-run changes nothing.
//!
//! Run inside the test bed (`just test`, or `tests/testbed/testbed.sh exec --
//! cargo test --test it -- engine_events::`), with `KINDOPS_PINS` set (see
//! `support::bed::mirror`).

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kindops::cluster::Target;
use kindops::engine::event::{Event, RunOutcome, Stamped, Stream};
use kindops::engine::{Engine, Settings};
use kindops::plan::{phase_source, Plan, Step};
use kindops::upstream::Mirror;
use support::bed::{mirror, shared_env};
use support::kindops::CONTEXT;

fn plan() -> Plan {
    Plan::load(&phase_source(None), &kindops::content::Content::embedded()).expect("the embedded plan loads")
}

fn settings(home: &Path) -> Settings {
    Settings {
        target: Target::Context {
            context: CONTEXT.to_string(),
        },
        upto: 1,
        repo_url: None,
        mirror: Some(Mirror::Dir(PathBuf::from(mirror()))),
        mirror_images: None,
        cache_dir: home.join("cache"),
        data_dir: home.join("data"),
        timeout: Some(Duration::from_secs(240)),
        show_secrets: false,
        step_mode: false,
        interactive: false,
        ui_port: 8080,
        workers: 0,
        node_image: None,
        on_conflict: None,
        keep_context: false,
        registry: None,
        products: vec![],
    }
}

/// Runs the engine to the end; returns its outcome and every event it sent.
async fn run(home: &Path) -> (RunOutcome, Vec<Stamped>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_control, control_rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::new(
        plan(),
        settings(home),
        tx,
        control_rx,
        tokio_util::sync::CancellationToken::new(),
    );
    let outcome = tokio::time::timeout(Duration::from_secs(600), engine.run())
        .await
        .expect("the engine finished within 10 minutes");
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (outcome, events)
}

/// The events without the chatter inside a step (StepLog, StepProgress).
fn milestones(events: &[Stamped]) -> Vec<&Event> {
    events
        .iter()
        .map(|s| &s.event)
        .filter(|e| !matches!(e, Event::StepLog { .. } | Event::StepProgress { .. }))
        .collect()
}

fn dump(events: &[Stamped]) -> String {
    events
        .iter()
        .map(|e| format!("{:>6} {:?}", e.elapsed_ms, e.event))
        .collect::<Vec<_>>()
        .join("\n")
}

fn setup() {
    let env = shared_env();
    assert_eq!(
        std::env::var_os("KUBECONFIG").map(PathBuf::from).as_deref(),
        Some(env.kubeconfig.as_path()),
        "KUBECONFIG is not the shared test bed's: run inside `tests/testbed/testbed.sh exec`"
    );
    // Set once per process; mirror() has checked KINDOPS_PINS is there.
    let _ = mirror();
    let pins = std::env::var_os("KINDOPS_PINS").unwrap();
    kindops::upstream::use_pins_file(Path::new(&pins)).expect("the test mirror's pins file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_0_and_1_emit_the_typed_sequence_and_a_rerun_changes_nothing() {
    setup();
    let plan = plan();
    assert_eq!(plan.upto(4).len(), 5, "the embedded plan has phases 0 to 4");
    let phase_0 = &plan.upto(0)[0];
    let phase_1 = &plan.upto(1)[1];
    assert!(
        matches!(phase_0.steps[0], Step::Preflight {}),
        "phase 0 starts with preflight"
    );
    let home = tempfile::tempdir().unwrap();

    let (outcome, events) = run(home.path()).await;
    let all = dump(&events);
    assert_eq!(outcome, RunOutcome::Succeeded, "{all}");
    assert!(
        events.windows(2).all(|w| w[0].elapsed_ms <= w[1].elapsed_ms),
        "time stamps go backwards:\n{all}"
    );

    // RunStarted: the phases about to run (0..=upto), each with its steps'
    // labels in plan order, and the target.
    match &events[0].event {
        Event::RunStarted { phases, target } => {
            let numbers: Vec<u8> = phases.iter().map(|p| p.number).collect();
            assert_eq!(numbers, vec![0, 1], "{all}");
            for (info, phase) in phases.iter().zip(plan.upto(1)) {
                let labels: Vec<String> = phase.steps.iter().map(Step::label).collect();
                assert_eq!(info.steps, labels, "phase {}", phase.phase);
                assert_eq!(info.title, phase.title);
            }
            assert_eq!(target, &format!("existing cluster, context {CONTEXT}"));
        }
        e => panic!("the first event is {e:?}, not RunStarted:\n{all}"),
    }

    // Phase 0: preflight (it logs its checks; the cluster is ready inside it),
    // then create-cluster, which uses the existing cluster, and load-images,
    // which leaves an existing cluster's nodes to pull.
    let ms = milestones(&events);
    let mut expected: Vec<String> = vec!["PhaseStarted 0".into(), "StepStarted 0/0 preflight checks".into()];
    expected.push(format!("ClusterReady {CONTEXT}"));
    expected.push("StepFinished 0/0".into());
    for i in 1..phase_0.steps.len() {
        expected.push(format!("StepStarted 0/{i} {}", phase_0.steps[i].label()));
        expected.push(format!("StepFinished 0/{i}"));
    }
    expected.push("PhaseFinished 0".into());
    expected.push("PhaseStarted 1".into());
    for (i, step) in phase_1.steps.iter().enumerate() {
        expected.push(format!("StepStarted 1/{i} {}", step.label()));
        expected.push(format!("StepFinished 1/{i}"));
    }
    expected.push("PhaseFinished 1".into());
    expected.push("RunFinished Succeeded".into());
    let got: Vec<String> = ms[1..]
        .iter()
        .map(|e| match e {
            Event::PhaseStarted { phase } => format!("PhaseStarted {phase}"),
            Event::PhaseFinished { phase, .. } => format!("PhaseFinished {phase}"),
            Event::StepStarted { phase, step, label } => format!("StepStarted {phase}/{step} {label}"),
            Event::StepFinished { phase, step, .. } => format!("StepFinished {phase}/{step}"),
            Event::ClusterReady { context } => format!("ClusterReady {context}"),
            Event::RunFinished { outcome, failure } => {
                assert!(failure.is_none(), "{failure:?}");
                format!("RunFinished {outcome:?}")
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(got, expected, "the event sequence:\n{all}");

    // The preflight step's own lines are StepLogs of phase 0, step 0, written
    // by kindops, between its StepStarted and StepFinished; one names the
    // cluster it reached.
    let start = events
        .iter()
        .position(|e| matches!(e.event, Event::StepStarted { phase: 0, step: 0, .. }))
        .unwrap();
    let end = events
        .iter()
        .position(|e| matches!(e.event, Event::StepFinished { phase: 0, step: 0, .. }))
        .unwrap();
    let logs: Vec<&str> = events[start..end]
        .iter()
        .filter_map(|e| match &e.event {
            Event::StepLog {
                phase: 0,
                step: 0,
                stream: Stream::Kindops,
                line,
            } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.starts_with(&format!("ok      cluster   context {CONTEXT}: Kubernetes v1."))),
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.starts_with("ok      upstream  argo-cd")),
        "{logs:#?}"
    );
    // Every StepLog and StepProgress belongs to the step running then.
    let mut current = None;
    for e in &events {
        match &e.event {
            Event::StepStarted { phase, step, .. } => current = Some((*phase, *step)),
            Event::StepFinished { .. } => current = None,
            Event::StepLog { phase, step, .. } | Event::StepProgress { phase, step, .. } => {
                assert_eq!(Some((*phase, *step)), current, "{:?} outside its step:\n{all}", e.event)
            }
            _ => {}
        }
    }

    // A re-run converges: every apply step reports `changed: false`.
    let (outcome, again) = run(home.path()).await;
    let all = dump(&again);
    assert_eq!(outcome, RunOutcome::Succeeded, "{all}");
    let applies: Vec<usize> = phase_1
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Step::Apply { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        applies.len(),
        4,
        "phase 1 applies Argo CD, Tekton and the add-ons' CRDs"
    );
    for i in applies {
        let finished = again.iter().find_map(|e| match &e.event {
            Event::StepFinished {
                phase: 1,
                step,
                changed,
                message,
                ..
            } if *step == i => Some((*changed, message.clone())),
            _ => None,
        });
        let (changed, message) = finished.unwrap_or_else(|| panic!("no StepFinished for step 1/{i}:\n{all}"));
        assert!(!changed, "re-applying step 1/{i} changed something: {message}");
    }
}
