//! `kindops` end to end on the mirror and downloads: a checksum mismatch
//! stops before anything is applied, `fetch` fills a mirror `up` reads, a
//! stalled download fails naming its deadline, download progress in phase 0.

use crate::support;

use std::process::Command;

use support::bed::{mirror, Bed};
use support::kindops::Kindops;

#[test]
fn checksum_mismatch_stops_before_anything_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    // A mirror whose Argo CD manifest is not the pinned one.
    let src = std::path::PathBuf::from(mirror());
    let m = dir.path().join("mirror");
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            let to = m.join(e.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        }
    }
    let argo = m.join("argo-cd/install-v3.5.1.yaml");
    let mut text = std::fs::read_to_string(&argo).unwrap();
    text.push_str("\n# tampered\n");
    std::fs::write(&argo, text).unwrap();
    let bed = Bed::shared();
    let run = Kindops::new()
        .args(["up", "--phase", "1", "--no-tui"])
        .context()
        .arg("--mirror")
        .arg(&m)
        .args(["--repo-url", "file:///tmp/never"])
        .in_bed(&bed)
        .run();
    let text = run.assert_code(2).stderr();
    assert!(!run.stdout().contains("-> "), "a step ran: {}", run.stdout());
    assert!(text.contains("checksum mismatch for argo-cd v3.5.1"), "{text}");
    assert!(
        text.contains("795a3a972224da6a7f9d32c3e946445f062b60fb46028476715affeb688236e3"),
        "expected hash: {text}"
    );
    let actual = kindops::upstream::sha256_file(&argo).unwrap();
    assert!(text.contains(&actual), "actual hash {actual}: {text}");
    assert!(text.contains(argo.to_str().unwrap()), "names the file: {text}");
}

#[test]
fn fetch_fills_a_mirror_that_up_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("mirror");
    Kindops::new()
        .args(["fetch", "--into"])
        .arg(&into)
        .mirror()
        .run()
        .assert_code(0);
    for p in kindops::upstream::pins() {
        let f = into.join(&p.name).join(&p.file);
        assert!(f.is_file(), "{} missing", f.display());
        assert_eq!(
            kindops::upstream::sha256_file(&f).unwrap(),
            kindops::upstream::sha256_file(&std::path::Path::new(&mirror()).join(&p.name).join(&p.file)).unwrap()
        );
    }
    // The filled mirror serves `plan` (offline object counts).
    let out = Kindops::new()
        .args(["plan", "--phase", "1", "--mirror"])
        .arg(&into)
        .run();
    assert!(out.stdout().contains("126 objects"), "{out}");
}

/// A mirror (or upstream) that accepts the connection and then sends nothing:
/// the download gives up after its read deadline, naming the URL and the
/// setting, instead of hanging phase 0 (or CI) forever.
#[test]
fn a_stalled_download_fails_naming_the_url_and_its_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(8) {
            held.push(conn); // never answered
        }
        std::thread::sleep(std::time::Duration::from_secs(120));
    });
    let into = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let out = Kindops::new()
        .args(["fetch", "--into"])
        .arg(into.path())
        .args(["--mirror", &base])
        .env("KINDOPS_DOWNLOAD_TIMEOUT", "2s")
        .run();
    let err = out.assert_code(1).stderr();
    assert!(err.contains(&format!("{base}/argo-cd/install-v3.5.1.yaml")), "{err}");
    assert!(
        err.contains("no answer within 2s") && err.contains("KINDOPS_DOWNLOAD_TIMEOUT"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    // Nothing partial was left in the cache or the mirror.
    assert_eq!(std::fs::read_dir(into.path()).unwrap().count(), 0);
}

/// Large artifacts downloaded from an http(s) mirror report their progress
/// as phase 0's step progress (a line per MiB), here in `--output json`.
#[test]
fn downloads_report_progress_in_phase_0() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
            &mirror(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let bed = Bed::shared();
    let out = Kindops::new()
        .args(["up", "--phase", "0"])
        .context()
        .args(["--mirror", &base, "--output", "json"])
        .in_bed(&bed)
        .run();
    let _ = server.kill();
    let _ = server.wait();
    let progress: Vec<String> = out
        .assert_code(0)
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "step_progress")
        .filter_map(|v| v["message"].as_str().map(str::to_string))
        .collect();
    assert!(
        progress
            .iter()
            .any(|m| m.starts_with("downloading argo-cd install-v3.5.1.yaml: ") && m.ends_with(" of 1872 KiB")),
        "{progress:?}"
    );
}
