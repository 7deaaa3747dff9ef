//! Unit tests of [`super::detect_container_cli`].

use super::*;
use std::os::unix::fs::PermissionsExt;

/// A PATH of one tempdir holding `name` stubs that print `version_line`
/// for `-v`, as the real CLIs do (docker 28: `Docker version 28.5.1, build
/// e180ab8`; nerdctl 2.1: `nerdctl version 2.1.6`; podman 5:
/// `podman version 5.6.2`, also from Podman's `docker` shim).
fn path_with(stubs: &[(&str, &str)]) -> (tempfile::TempDir, std::ffi::OsString) {
    let dir = tempfile::tempdir().unwrap();
    for (name, line) in stubs {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho '{line}'\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = dir.path().as_os_str().to_owned();
    (dir, path)
}

#[test]
fn the_container_cli_is_found_in_kinds_order() {
    let docker = ("docker", "Docker version 28.5.1, build e180ab8");
    let nerdctl = ("nerdctl", "nerdctl version 2.1.6");
    let podman = ("podman", "podman version 5.6.2");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[docker, nerdctl, podman], "docker"),
        (&[nerdctl, podman], "nerdctl"),
        // A Podman-only machine: kind uses podman.
        (&[podman], "podman"),
        // Podman's docker shim is not Docker: kind goes on to podman.
        (&[("docker", "podman version 5.6.2"), podman], "podman"),
        (&[("finch", "finch version v1.9.0"), podman], "finch"),
        // Nothing found: kind's fallback, docker (preflight then says it is missing).
        (&[], "docker"),
    ];
    for (stubs, want) in cases {
        let (_dir, path) = path_with(stubs);
        assert_eq!(detect_container_cli(None, path), *want, "{stubs:?}");
    }
    // KIND_EXPERIMENTAL_PROVIDER wins over PATH; an unknown value is ignored.
    let (_dir, path) = path_with(&[docker]);
    assert_eq!(detect_container_cli(Some("podman"), path.clone()), "podman");
    assert_eq!(detect_container_cli(Some("nerdctl"), path.clone()), "nerdctl");
    assert_eq!(detect_container_cli(Some("lxc"), path), "docker");
    let (_dir, path) = path_with(&[podman]);
    assert_eq!(detect_container_cli(Some("docker"), path.clone()), "docker");
    assert_eq!(detect_container_cli(Some("lxc"), path), "podman");
}
