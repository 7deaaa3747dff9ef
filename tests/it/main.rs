//! The one integration test binary (`cargo test --test it`): one module per
//! area, each a file of this folder, and their shared helpers in
//! `support/`. One binary links once (22 binaries did before); `just test`
//! runs its modules one after another (`by-module.sh`), each with four
//! threads, as the separate binaries ran: a module's tests share the test
//! bed only with each other.
//!
//! Run one area: `cargo test --test it -- kind_road::` (tests that need the
//! test bed run inside it: see the README's Development section).

mod support;

mod architecture;
mod argocd;
mod cli;
mod cli_input;
mod cli_mirror;
mod completions;
mod engine_events;
mod faults_apiserver;
mod faults_argocd;
mod faults_input;
mod faults_signals;
mod git_source;
mod junit;
mod kind;
mod kind_loop;
mod kind_registry;
mod kind_road;
mod learn;
mod products;
mod testbed;
mod tui;
mod tui_actions;
mod uninstall;
mod upstream;
