//! The GitOps loop alone on a real kind cluster (issue 22), for working on
//! it without the whole road: phases 0–4 (`--no-tui`), then a learner's
//! push to products/coffee/cart and everything that must follow
//! (`support::ci_loop`). `tests/it/kind_road.rs` checks the same on its road.
//! `#[ignore]`d in `cargo test`; run in the lane's namespace:
//! `cargo test --test it -- --ignored kind_loop::` (as `just test-kind-road`).

use crate::support;

use support::bed::show;
use support::ci_loop;
use support::lane::*;

#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn a_push_to_cart_is_tested_built_pushed_written_back_and_rolled_out() {
    let t0 = std::time::Instant::now();
    let l = Learner::new();
    let name = "ko-loop";
    let images_dir = tempfile::tempdir().unwrap();
    let (m, _) = mirror_with_images(&l, images_dir.path(), true);
    let out = l.up_to("4", name, "18083", &m, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    eprintln!("[loop] phases 0-4 in {:?}", t0.elapsed());
    let made = ci_loop::prepare_registry(&l, name);
    let times = std::panic::catch_unwind(|| ci_loop::push_cart_and_wait(&l, name));
    ci_loop::teardown(&made);
    if std::env::var_os("KINDOPS_KEEP_CLUSTER").is_none() {
        let out = l.down(name);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    let times = times.unwrap_or_else(|e| std::panic::resume_unwind(e));
    eprintln!("[loop] {times:?}; done in {:?}", t0.elapsed());
}

/// The push storm and the soak (issue 24, `support::storm`): 10 learner
/// pushes in about 30 s touching cart, order and both, while `kindops
/// status --watch` runs for `KINDOPS_SOAK_SECS` (default 600). Too long for
/// CI's 90 minutes beside the road; run by `benches/kind-road.sh` (`just
/// bench`), which keeps its output.
#[test]
#[ignore = "needs the real-kind lane: just bench"]
fn a_push_storm_settles_with_every_write_back_once() {
    let t0 = std::time::Instant::now();
    let l = Learner::new();
    let name = "ko-storm";
    let images_dir = tempfile::tempdir().unwrap();
    let (m, _) = mirror_with_images(&l, images_dir.path(), true);
    let out = l.up_to("4", name, "18084", &m, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    eprintln!("[storm] phases 0-4 in {:?}", t0.elapsed());
    let made = ci_loop::prepare_registry(&l, name);
    let soak = std::env::var("KINDOPS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(std::time::Duration::from_secs(600), std::time::Duration::from_secs);
    let figures = std::panic::catch_unwind(|| {
        // One build first: the cluster's first compiles Go's standard library.
        ci_loop::push_cart_and_wait(&l, name);
        support::storm::push_storm(&l, name, soak)
    });
    ci_loop::teardown(&made);
    if std::env::var_os("KINDOPS_KEEP_CLUSTER").is_none() {
        let out = l.down(name);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    let figures = figures.unwrap_or_else(|e| std::panic::resume_unwind(e));
    eprintln!("[storm] done in {:?}: {figures:?}", t0.elapsed());
}
