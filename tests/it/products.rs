//! `kindops up --product DIR --addons ...` on a private test bed with the
//! real Argo CD: a product folder of the user's becomes an ApplicationSet
//! beside coffee's, its service an Application whose objects are in the
//! cluster as the folder says; a change to the folder reaches the cluster on
//! a re-run; an add-on left out is not installed.

use crate::support;

use support::bed::{show, testbed_phases, Bed};
use support::kindops::Kindops;

/// `status.sync.status/status.health.status` of Application `name`.
fn app_state(bed: &Bed, name: &str) -> String {
    bed.app_field(name, "{.status.sync.status}/{.status.health.status}")
}

#[test]
fn a_product_folder_is_deployed_like_coffee_and_a_left_out_addon_is_not_installed() {
    let bed = Bed::private("products", true);
    let tea = bed.home.path().join("tea");
    std::fs::create_dir_all(tea.join("menu")).unwrap();
    let manifest =
        |flavour: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: menu\ndata:\n  tea: {flavour}\n");
    std::fs::write(tea.join("menu/configmap.yaml"), manifest("green")).unwrap();
    let phases = testbed_phases(bed.home.path());
    let up = || {
        Kindops::up(&bed)
            .args(["--phase", "4", "--phases", &phases, "--timeout", "5m"])
            .args(["--addons", "external-secrets,argo-rollouts"])
            .args(["--product", tea.to_str().unwrap()])
            .run()
            .out
    };

    let out = up();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("your product folder(s) laid in as apps/{tea}"), "{text}");
    // Phase 4's wait named the product's ApplicationSet beside coffee's, and
    // returned with its Application Synced and Healthy.
    assert_eq!(app_state(&bed, "tea-menu"), "Synced/Healthy");
    assert_eq!(
        bed.kubectl_ok(&["-n", "tea", "get", "configmap", "menu", "-o", "jsonpath={.data.tea}"]),
        "green"
    );
    assert_eq!(
        bed.kubectl_ok(&[
            "-n",
            "argocd",
            "get",
            "applicationset",
            "tea",
            "-o",
            "jsonpath={.spec.generators[0].git.directories[0].path}"
        ]),
        "apps/tea/*"
    );
    assert_eq!(app_state(&bed, "cart"), "Synced/Healthy", "coffee is deployed as ever");
    let metrics = bed.kubectl(&["-n", "argocd", "get", "application", "metrics-server"]);
    assert!(
        !metrics.status.success() && String::from_utf8_lossy(&metrics.stderr).contains("NotFound"),
        "metrics-server was left out: {}",
        show(&metrics)
    );

    // The presenter changes the folder and runs again: the change is
    // published and synced before the run ends.
    std::fs::write(tea.join("menu/configmap.yaml"), manifest("black")).unwrap();
    let out = up();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Phase 4's wait returns once the Applications are Synced at the
    // revision this run published: the cluster already has the change.
    assert_eq!(
        bed.kubectl_ok(&["-n", "tea", "get", "configmap", "menu", "-o", "jsonpath={.data.tea}"]),
        "black"
    );
    assert_eq!(app_state(&bed, "tea-menu"), "Synced/Healthy");
}
