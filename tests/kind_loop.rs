//! The GitOps loop alone on a real kind cluster (issue 22), for working on
//! it without the whole road: phases 0–4 (`--no-tui`), then a learner's
//! push to products/coffee/cart and everything that must follow
//! (`support::ci_loop`). `tests/kind_road.rs` checks the same on its road.
//! `#[ignore]`d in `cargo test`; run in the lane's namespace:
//! `cargo test --test kind_loop -- --ignored` (as `just test-kind-road`).

mod support;

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
