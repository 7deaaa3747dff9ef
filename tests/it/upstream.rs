//! The pinned upstream artifacts against the shared mirror beside the repo
//! (`../shared/upstream`). An integration test, not a unit test: `just unit`
//! needs neither a test bed nor `../shared`; `just test` runs this.

use std::path::Path;

use kindops::upstream::{pins, Mirror, Upstream};

#[tokio::test]
async fn shared_upstream_mirror_resolves_every_pin() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream");
    if !shared.is_dir() {
        panic!("../shared/upstream is missing beside the repo: {}", shared.display());
    }
    let cache = tempfile::tempdir().unwrap();
    let up = Upstream {
        mirror: Some(Mirror::Dir(shared)),
        cache_dir: cache.path().into(),
    };
    // Every pin but the packaged External Secrets chart, which the test
    // data holds only as its source (tests/mirror.sh packages it).
    for pin in pins() {
        let res = up.resolve(&pin).await;
        if pin.unpack.is_some() {
            let err = res.unwrap_err().to_string();
            assert!(err.contains(&pin.file) && err.contains("kindops fetch"), "{err}");
        } else {
            res.unwrap();
        }
    }
}
