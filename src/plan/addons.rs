//! Which platform add-ons phase 3 installs (`--addons`, kindops.yaml
//! `addons`): the plan with the steps of the ones left out taken away.
//!
//! An add-on is the Argo CD Application of the same name that
//! `bootstrap/phase-3/<name>.yaml` defines (the convention of
//! `manifests/gitops/bootstrap/phase-3/`), plus what only it needs: the team's
//! secret store (Application `secret-store` and the `seed-secrets` step) goes
//! with External Secrets, whose ClusterSecretStore it is.

use super::{Plan, Step};

/// One add-on phase 3 can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addon {
    /// The Application's name, and its file `bootstrap/phase-3/<name>.yaml`.
    pub name: &'static str,
    /// Other Applications installed only for it.
    pub with: &'static [&'static str],
    /// What phase 4 has that needs it (so it cannot be left out up to phase 4).
    pub needed_by_phase_4: Option<&'static str>,
}

/// The add-ons of `phases/phase-3.yaml`, in its order.
pub const ADDONS: &[Addon] = &[
    Addon {
        name: "external-secrets",
        with: &["secret-store"],
        needed_by_phase_4: Some(
            "each product service's ExternalSecret (apps/coffee/*/externalsecret.yaml), which Argo CD waits on for health",
        ),
    },
    Addon {
        name: "argo-rollouts",
        with: &[],
        needed_by_phase_4: Some("the product services, which are Rollouts (bases/mini-service/rollout.yaml)"),
    },
    Addon {
        name: "metrics-server",
        with: &[],
        needed_by_phase_4: None,
    },
];

/// The names of [`ADDONS`], for help texts and value parsers.
pub const NAMES: [&str; 3] = ["external-secrets", "argo-rollouts", "metrics-server"];

/// Why leaving `out` out cannot work for phases 0..=`upto`, if it cannot:
/// an add-on phase 4 needs, with phase 4 to run.
pub fn problem(out: &[&str], upto: u8) -> Option<String> {
    if upto < 4 {
        return None;
    }
    ADDONS
        .iter()
        .filter(|a| out.contains(&a.name))
        .find_map(|a| a.needed_by_phase_4.map(|why| (a.name, why)))
        .map(|(name, why)| {
            format!("{name} cannot be left out when phase 4 runs: it serves {why}; keep it in the add-ons, or run up to phase 3 (--phase 3)")
        })
}

impl Plan {
    /// This plan with every step of the add-ons not in `keep` taken away:
    /// the `apply` of `bootstrap/phase-3/<name>.yaml` (and of its `with`
    /// Applications), their names in `wait-applications` (a wait left with
    /// nothing to wait for goes too) and, without External Secrets, the
    /// `seed-secrets` step. `keep` holds names of [`ADDONS`].
    pub fn with_addons(&self, keep: &[String]) -> Plan {
        let out: Vec<&str> = ADDONS
            .iter()
            .filter(|a| !keep.iter().any(|k| k == a.name))
            .flat_map(|a| std::iter::once(a.name).chain(a.with.iter().copied()))
            .collect();
        let no_secret_store = out.contains(&"secret-store");
        let mut plan = self.clone();
        for phase in &mut plan.phases {
            phase.steps.retain_mut(|step| match step {
                Step::Apply { path, .. } => !out
                    .iter()
                    .any(|name| path.as_str() == format!("bootstrap/phase-3/{name}.yaml")),
                Step::WaitApplications {
                    applications,
                    applicationsets,
                    ..
                } => {
                    let before = applications.len();
                    applications.retain(|a| !out.contains(&a.as_str()));
                    before == applications.len() || !applications.is_empty() || !applicationsets.is_empty()
                }
                Step::SeedSecrets { .. } => !no_secret_store,
                _ => true,
            });
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Content;
    use crate::plan::PhaseSource;

    fn applied(plan: &Plan) -> Vec<String> {
        plan.phases
            .iter()
            .flat_map(|p| &p.steps)
            .filter_map(|s| match s {
                Step::Apply { path, .. } => Some(path.clone()),
                _ => None,
            })
            .collect()
    }

    fn waited(plan: &Plan) -> Vec<String> {
        plan.phases
            .iter()
            .flat_map(|p| &p.steps)
            .flat_map(|s| match s {
                Step::WaitApplications { applications, .. } => applications.clone(),
                _ => vec![],
            })
            .collect()
    }

    /// The add-ons are phase 3's: every name has its bootstrap file and a
    /// wait in the built-in phases, so leaving it out takes its steps away.
    #[test]
    fn every_addon_is_applied_and_waited_for_by_phase_3() {
        let plan = Plan::load(&PhaseSource::Embedded, &Content::embedded()).unwrap();
        assert_eq!(ADDONS.iter().map(|a| a.name).collect::<Vec<_>>(), NAMES);
        for a in ADDONS {
            let file = format!("bootstrap/phase-3/{}.yaml", a.name);
            assert!(applied(&plan).contains(&file), "{file}");
            assert!(waited(&plan).contains(&a.name.to_string()), "{}", a.name);
        }
    }

    #[test]
    fn left_out_addons_lose_their_apply_wait_and_secret_store() {
        let plan = Plan::load(&PhaseSource::Embedded, &Content::embedded()).unwrap();
        let all: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
        assert_eq!(applied(&plan.with_addons(&all)), applied(&plan));
        assert_eq!(waited(&plan.with_addons(&all)), waited(&plan));

        let no_metrics = plan.with_addons(&["external-secrets".into(), "argo-rollouts".into()]);
        assert!(!applied(&no_metrics).contains(&"bootstrap/phase-3/metrics-server.yaml".into()));
        assert!(!waited(&no_metrics).contains(&"metrics-server".into()));
        assert_eq!(applied(&no_metrics).len(), applied(&plan).len() - 1);
        // Its own wait step went with it; the others stayed.
        let count = |p: &Plan| {
            p.phases[3]
                .steps
                .iter()
                .filter(|s| matches!(s, Step::WaitApplications { .. }))
                .count()
        };
        assert_eq!(count(&no_metrics), count(&plan) - 1);

        let none = plan.with_addons(&[]);
        let phase_3 = &none.phases[3].steps;
        assert!(phase_3.iter().all(|s| matches!(s, Step::PublishRepo {})), "{phase_3:?}");
        assert_eq!(
            applied(&none).len(),
            applied(&plan).len() - 4,
            "three add-ons and the secret store"
        );
    }

    #[test]
    fn phase_4_needs_external_secrets_and_argo_rollouts() {
        assert_eq!(problem(&["metrics-server"], 4), None);
        assert_eq!(problem(&["argo-rollouts"], 3), None);
        let e = problem(&["metrics-server", "argo-rollouts"], 4).unwrap();
        assert!(
            e.starts_with("argo-rollouts cannot be left out when phase 4 runs") && e.contains("--phase 3"),
            "{e}"
        );
        assert!(problem(&["external-secrets"], 4).unwrap().contains("ExternalSecret"));
    }
}
