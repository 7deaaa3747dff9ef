//! What the real-kind road checks of secrets (issue 23): External Secrets is
//! upstream's binary, each product's ExternalSecret syncs the team's store
//! into its Secret, the store's values stay out of every output, and a
//! missing store Secret is named with External Secrets' own message, and
//! its webhook being down is named with the Service to look at.

use super::bed::{show, stdout};
use super::lane::{docker, Learner};
use std::process::Command;
use std::time::{Duration, Instant};

/// The image the chart's three Deployments run (chart 2.9.0 values.yaml).
pub const ESO_IMAGE: &str = "ghcr.io/external-secrets/external-secrets:v2.9.0";
/// The store's namespace and the key every product's Secret has.
pub const STORE: &str = "team-secrets";
pub const KEY: &str = "api-key";

/// `kubectl ... -o json`, parsed.
pub fn json(l: &Learner, cluster: &str, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let out = l.kubectl(cluster, &a);
    assert!(out.status.success(), "kubectl {args:?}: {}", show(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Secret NAME's key [`KEY`] in NAMESPACE, decoded (never printed).
pub fn value(l: &Learner, cluster: &str, namespace: &str, name: &str) -> Option<String> {
    let out = l.kubectl(
        cluster,
        &[
            "-n",
            namespace,
            "get",
            "secret",
            name,
            "-o",
            &format!("go-template={{{{index .data \"{KEY}\" | base64decode}}}}"),
        ],
    );
    out.status.success().then(|| stdout(&out)).filter(|v| !v.is_empty())
}

/// External Secrets' three Deployments run upstream's binary: the lane's
/// real image (built from the v2.9.0 source, no stand-in label) is the one
/// in the node, and the binary in it is the github.com/external-secrets
/// main module with upstream's subcommands. (ESO v2.9.0's binary has no
/// --version flag, no version log line and no build-info metric:
/// cmd/controller/root.go; the version is the image's OCI label, set from
/// the source archive the lane built it from.)
pub fn assert_eso_is_upstream(l: &Learner, cluster: &str) {
    let deps = json(l, cluster, &["-n", "external-secrets", "get", "deployments"]);
    let items = deps["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{deps}");
    for d in items {
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], ESO_IMAGE, "{}", d["metadata"]["name"]);
        assert_eq!(d["status"]["availableReplicas"], 1, "{}", d["metadata"]["name"]);
    }
    let labels = stdout(&docker(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Labels}}",
        ESO_IMAGE,
    ]));
    let labels: serde_json::Value = serde_json::from_str(labels.trim()).unwrap();
    assert_eq!(labels["org.opencontainers.image.version"], "v2.9.0", "{labels}");
    assert!(labels.get("kindops.standin").is_none(), "a stand-in: {labels}");
    // The node runs that very image (containerd's image id is Docker's config digest).
    let lane_id = stdout(&docker(&["image", "inspect", "-f", "{{.Id}}", ESO_IMAGE]))
        .trim()
        .to_string();
    let node_id = stdout(&docker(&[
        "exec",
        &format!("{cluster}-control-plane"),
        "crictl",
        "inspecti",
        "-o",
        "go-template",
        "--template",
        "{{.status.id}}",
        ESO_IMAGE,
    ]));
    assert_eq!(node_id.trim(), lane_id, "the node's {ESO_IMAGE} is not the lane's");
    // The binary: upstream's main module, and its three subcommands.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("external-secrets");
    let c = stdout(&docker(&["create", ESO_IMAGE])).trim().to_string();
    docker(&["cp", &format!("{c}:/bin/external-secrets"), &bin.display().to_string()]);
    docker(&["rm", &c]);
    let info = Command::new("go").arg("version").arg("-m").arg(&bin).output().unwrap();
    let info = stdout(&info);
    assert!(
        info.lines().any(|l| l
            .trim_start()
            .starts_with("path\tgithub.com/external-secrets/external-secrets")),
        "{info}"
    );
    let help = Command::new(&bin).arg("--help").output().unwrap();
    let help = stdout(&help);
    for sub in ["certcontroller", "webhook"] {
        assert!(help.contains(sub), "no {sub} subcommand: {help}");
    }
    eprintln!("[secrets] External Secrets: upstream's binary in the node ({lane_id})");
}

/// The `Ready` condition of ExternalSecret coffee/NAME: (status, reason, message).
pub fn ready(l: &Learner, cluster: &str, name: &str) -> (String, String, String) {
    let out = l.kubectl(cluster, &["-n", "coffee", "get", "externalsecret", name, "-o", "json"]);
    if !out.status.success() {
        return Default::default();
    }
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let c = v["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready").cloned())
        .unwrap_or_default();
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    (s("status"), s("reason"), s("message"))
}

/// Waits (up to `limit`) until ExternalSecret coffee/NAME's Ready condition
/// has `status` and `reason`; returns the time it took and the message.
pub fn wait_ready(
    l: &Learner,
    cluster: &str,
    name: &str,
    status: &str,
    reason: &str,
    limit: Duration,
) -> (Duration, String) {
    let t = Instant::now();
    loop {
        let (s, r, m) = ready(l, cluster, name);
        if s == status && r == reason {
            return (t.elapsed(), m);
        }
        assert!(
            t.elapsed() < limit,
            "ExternalSecret coffee/{name}: Ready={s} {r} ({m}), not {status} {reason} after {limit:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Each service's ExternalSecret `<svc>-secret` is Ready=True with reason
/// SecretSynced, and Secret coffee/`<svc>-secret` holds the store's value
/// of `coffee-<svc>` under [`KEY`]. Returns the store values (for the scan).
pub fn assert_synced(l: &Learner, cluster: &str, services: &[&str]) -> Vec<String> {
    let mut values = vec![];
    for svc in services {
        let name = format!("{svc}-secret");
        wait_ready(l, cluster, &name, "True", "SecretSynced", Duration::from_secs(60));
        let stored = value(l, cluster, STORE, &format!("coffee-{svc}")).expect("the store's value");
        assert_eq!(stored.len(), 64, "a 32-byte hex value is seeded for {svc}");
        let synced = value(l, cluster, "coffee", &name);
        assert!(
            synced.as_deref() == Some(stored.as_str()),
            "Secret coffee/{name} does not hold the store's value"
        );
        values.push(stored);
    }
    eprintln!("[secrets] ExternalSecrets Ready=True SecretSynced, Secrets hold the store's values: {services:?}");
    values
}

/// The store's source Secret of `svc` deleted: its ExternalSecret goes
/// Ready=False with SecretSyncedError, and `kindops status` names it with
/// External Secrets' message; a re-run of `up` seeds a new value and the
/// ExternalSecret is Ready again. Returns the new value (for the scan).
pub fn fault_store_secret_deleted(l: &Learner, cluster: &str, svc: &str, up: &[&str]) -> String {
    let store = format!("coffee-{svc}");
    let name = format!("{svc}-secret");
    let del = l.kubectl(cluster, &["-n", STORE, "delete", "secret", &store]);
    assert!(del.status.success(), "{}", show(&del));
    let (took, message) = wait_ready(l, cluster, &name, "False", "SecretSyncedError", Duration::from_secs(90));
    eprintln!(
        "[secrets] store Secret {store} deleted: ExternalSecret {name} SecretSyncedError after {took:?}: {message}"
    );
    // `kindops status` names it once Argo CD's health check has seen it.
    let t = Instant::now();
    loop {
        let out = l.command(&["status", "--cluster", cluster]).output().unwrap();
        let text = stdout(&out);
        if text.contains(&format!("ExternalSecret coffee/{name}")) {
            assert!(text.contains("Degraded"), "{text}");
            eprintln!(
                "[secrets] status names it: {}",
                text.lines().find(|l| l.contains(&name)).unwrap_or_default().trim()
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "status never named {name}:\n{text}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let out = l.command(up).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "the healing re-run: {}", show(&out));
    assert!(stdout(&out).contains(&format!("created {store}")), "{}", show(&out));
    wait_ready(l, cluster, &name, "True", "SecretSynced", Duration::from_secs(90));
    value(l, cluster, STORE, &store).unwrap()
}

/// External Secrets' webhook down while an ExternalSecret is applied, and a
/// re-run of `up` that heals it:
/// 1. the webhook stopped: Argo CD would put its Deployment back at once
///    (selfHeal), so the external-secrets Application's automated sync is
///    turned off first, as someone debugging External Secrets by hand
///    would, then the Deployment is scaled to 0 and its pods are gone;
/// 2. the learner pushes an edit of cart's ExternalSecret (a label): Argo
///    CD's apply of it goes through the webhook (failurePolicy Fail, chart
///    2.9.0 templates/validatingwebhook.yaml: CREATE, UPDATE and DELETE) and
///    fails; Argo CD retries (5 times, up to 1 min apart) and gives up;
/// 3. `kindops status --wait --app cart` exits 1 naming the webhook, its
///    Service and the next step, and `kindops status` shows it;
/// 4. a re-run of `up` (`up`: its full command) re-applies what kindops
///    installed (the Application's automated sync, so Argo CD restores the
///    webhook) and asks Argo CD to sync cart again: exit 0, the label is on
///    the ExternalSecret, which is Ready with SecretSynced.
pub fn fault_webhook_down(l: &Learner, cluster: &str, up: &[&str]) {
    let ok = |args: &[&str]| {
        let out = l.kubectl(cluster, args);
        assert!(out.status.success(), "kubectl {args:?}: {}", show(&out));
    };
    let automated = |l: &Learner| {
        json(l, cluster, &["-n", "argocd", "get", "application", "external-secrets"])["spec"]["syncPolicy"]["automated"]
            .is_object()
    };
    assert!(automated(l), "kindops's external-secrets Application syncs by itself");
    ok(&[
        "-n",
        "argocd",
        "patch",
        "application",
        "external-secrets",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/spec/syncPolicy/automated"}]"#,
    ]);
    ok(&[
        "-n",
        "external-secrets",
        "scale",
        "deployment",
        "external-secrets-webhook",
        "--replicas=0",
    ]);
    ok(&[
        "-n",
        "external-secrets",
        "wait",
        "--for=delete",
        "pod",
        "-l",
        "app.kubernetes.io/name=external-secrets-webhook",
        "--timeout=120s",
    ]);
    eprintln!("[secrets] External Secrets' webhook stopped (its Application's automated sync off)");

    let work = super::ci_loop::learner_clone(l);
    let file = work.join("apps/coffee/cart/externalsecret.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let head = "metadata:\n  name: secret\n";
    assert!(text.contains(head), "{}: {text}", file.display());
    std::fs::write(
        &file,
        text.replace(head, &format!("{head}  labels:\n    team: coffee\n")),
    )
    .unwrap();
    super::ci_loop::commit_as_learner(&work, "cart: label its ExternalSecret");
    let commit = super::ci_loop::push(&work);
    let t = Instant::now();

    // Argo CD gives up: a SyncError condition, its last operation failed.
    let message = loop {
        let app = json(l, cluster, &["-n", "argocd", "get", "application", "cart"]);
        let given_up = app["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "SyncError"))
            .map(|c| c["message"].as_str().unwrap_or_default().to_string());
        let phase = app["status"]["operationState"]["phase"].as_str().unwrap_or_default();
        if let (Some(m), "Failed" | "Error") = (given_up, phase) {
            break m;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "Argo CD did not give up on cart within 300 s: {}",
            app["status"]["operationState"]
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(
        message.contains(r#"failed calling webhook "validate.externalsecret.external-secrets.io""#),
        "{message}"
    );
    eprintln!(
        "[secrets] webhook down: Argo CD gave up on cart's sync of {} after {:?}",
        &commit[..7],
        t.elapsed()
    );
    let waited = l
        .command(&[
            "status",
            "--cluster",
            cluster,
            "--wait",
            "--app",
            "cart",
            "--timeout",
            "30s",
        ])
        .output()
        .unwrap();
    assert_eq!(waited.status.code(), Some(1), "{}", show(&waited));
    let said = show(&waited);
    for part in [
        "Application argocd/cart",
        "admission webhook validate.externalsecret.external-secrets.io",
        "Service external-secrets/external-secrets-webhook",
        "kubectl -n external-secrets get pods",
        "run `kindops up` again",
    ] {
        assert!(said.contains(part), "status --wait does not say {part:?}: {said}");
    }
    let status = l.command(&["status", "--cluster", cluster]).output().unwrap();
    let row = stdout(&status)
        .lines()
        .find(|r| r.starts_with("cart "))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        row.contains("Service external-secrets/external-secrets-webhook"),
        "{}",
        show(&status)
    );
    eprintln!(
        "[secrets] status --wait exits 1: {}",
        String::from_utf8_lossy(&waited.stderr).trim()
    );

    let t = Instant::now();
    let out = l.command(up).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "the healing re-run: {}", show(&out));
    assert!(automated(l), "the re-run restored the Application's automated sync");
    let es = json(l, cluster, &["-n", "coffee", "get", "externalsecret", "cart-secret"]);
    assert_eq!(es["metadata"]["labels"]["team"], "coffee", "the learner's label: {es}");
    wait_ready(
        l,
        cluster,
        "cart-secret",
        "True",
        "SecretSynced",
        Duration::from_secs(60),
    );
    let app = json(l, cluster, &["-n", "argocd", "get", "application", "cart"]);
    assert_eq!(app["status"]["sync"]["status"], "Synced", "{}", app["status"]);
    assert_eq!(app["status"]["health"]["status"], "Healthy", "{}", app["status"]);
    eprintln!(
        "[secrets] the re-run healed it in {:?}: webhook back, cart Synced+Healthy at {}, its ExternalSecret labelled and Ready",
        t.elapsed(),
        &commit[..7]
    );
}

/// A NetworkPolicy that denies all ingress to cart's pods, and a request
/// from order's pod to cart's Service (agnhost `connect`). Where kindnetd's
/// policy controller runs (kube-network-policies programs nftables `queue`
/// rules), the request is blocked. Where the kernel has no nft_queue
/// (`# CONFIG_NFT_QUEUE is not set`, as on the lane's VM), kindnetd logs
/// "initial nftables sync failed" and runs fail-open: the test then asserts
/// that exact evidence (the node's kernel refuses a `queue` rule with "No
/// such file or directory", a rule without it is accepted) and that the
/// request still passes, and says so. Returns whether policies are enforced.
pub fn network_policy_denies_ingress(l: &Learner, cluster: &str) -> bool {
    let node = format!("{cluster}-control-plane");
    // One of order's pods (Rollout coffee/order-app: `kubectl exec` takes no
    // Rollout, so a Running pod by its label).
    let pod = l.kubectl(
        cluster,
        &[
            "-n",
            "coffee",
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name=order",
            "--field-selector=status.phase=Running",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ],
    );
    let pod = format!("pod/{}", stdout(&pod).trim());
    let connect = || {
        l.kubectl(
            cluster,
            &[
                "-n",
                "coffee",
                "exec",
                &pod,
                "--",
                "/agnhost",
                "connect",
                "cart-app.coffee.svc.cluster.local:80",
                "--timeout=3s",
            ],
        )
    };
    let before = connect();
    assert!(
        before.status.success(),
        "order cannot reach cart before any policy: {}",
        show(&before)
    );
    let policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: kotest-deny-cart, namespace: coffee}\nspec:\n  podSelector: {matchLabels: {app.kubernetes.io/name: cart}}\n  policyTypes: [Ingress]\n";
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), policy).unwrap();
    let apply = l.kubectl(cluster, &["apply", "-f", &file.path().display().to_string()]);
    assert!(apply.status.success(), "{}", show(&apply));
    std::thread::sleep(Duration::from_secs(3));
    let logs = l.kubectl(
        cluster,
        &["-n", "kube-system", "logs", "-l", "app=kindnet", "--tail=-1"],
    );
    let fail_open = stdout(&logs).contains("initial nftables sync failed");
    let after = connect();
    let del = l.kubectl(
        cluster,
        &["-n", "coffee", "delete", "networkpolicy", "kotest-deny-cart"],
    );
    assert!(del.status.success(), "{}", show(&del));
    if !fail_open {
        assert!(
            !after.status.success(),
            "a deny-all-ingress NetworkPolicy did not block order → cart: {}",
            show(&after)
        );
        eprintln!(
            "[netpol] enforced: order → cart blocked by the NetworkPolicy ({})",
            stdout(&after).trim()
        );
        return true;
    }
    // The kernel's own answer to the statement kube-network-policies uses.
    let probe = docker(&[
        "exec",
        &node,
        "sh",
        "-c",
        "nft add table inet kotest-probe && nft add chain inet kotest-probe c1 '{ type filter hook forward priority 0; policy accept; }' \
         && nft add rule inet kotest-probe c1 ip daddr 192.0.2.1 counter accept && echo plain-rule-ok; \
         nft add rule inet kotest-probe c1 ip daddr 192.0.2.2 queue num 101 bypass 2>&1; nft delete table inet kotest-probe",
    ]);
    let said = format!("{}{}", stdout(&probe), String::from_utf8_lossy(&probe.stderr));
    assert!(
        said.contains("plain-rule-ok") && said.contains("Could not process rule: No such file or directory"),
        "kindnetd's policy controller failed, but not for the missing nft_queue: {said}\n{}",
        stdout(&logs)
    );
    assert!(
        after.status.success(),
        "fail-open, yet order → cart failed: {}",
        show(&after)
    );
    eprintln!(
        "[netpol] NOT enforced on this kernel (no nft_queue): kindnetd logs \"initial nftables sync failed\", \
         the node's nft refuses `queue`: \"Could not process rule: No such file or directory\"; order → cart still passes"
    );
    false
}

/// Rotation without git: a new value for `svc` in the store reaches Secret
/// coffee/`<svc>-secret` (External Secrets' refresh, `refreshInterval: 15s`)
/// while Application `svc` stays Synced (git did not change). Returns the
/// time it took and the new value (for the scan).
pub fn rotate(l: &Learner, cluster: &str, svc: &str) -> (Duration, String) {
    let store = format!("coffee-{svc}");
    let name = format!("{svc}-secret");
    let new = kindops::secret_store::new_value().unwrap();
    // stringData: the API server writes it into data (core/v1 Secret).
    let patch = format!("{{\"stringData\":{{\"{KEY}\":\"{new}\"}}}}");
    let t = Instant::now();
    let out = l.kubectl(
        cluster,
        &["-n", STORE, "patch", "secret", &store, "--type=merge", "-p", &patch],
    );
    assert!(
        out.status.success(),
        "patching the store's Secret failed (exit {:?})",
        out.status.code()
    );
    loop {
        if value(l, cluster, "coffee", &name).as_deref() == Some(new.as_str()) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "Secret coffee/{name} did not get the rotated value in 90 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let took = t.elapsed();
    let apps = super::lane::applications(l, cluster);
    assert!(
        apps.iter().any(|(n, s, _)| n == svc && s == "Synced"),
        "Application {svc} not Synced after a rotation in the store: {apps:?}"
    );
    eprintln!("[secrets] rotation: store coffee-{svc} changed → Secret coffee/{name} updated after {took:?}; Application {svc} stays Synced");
    (took, new)
}
