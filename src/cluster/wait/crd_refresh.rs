//! Asking Argo CD to compare an Application again once the API server has
//! Established the CRDs it reports not ready ([`CrdRefresher`]).

use crate::argocd::AppSummary;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::time::Instant;

/// CustomResourceDefinitions that Application `app` reports as not yet
/// Synced+Healthy (its `status.resources[]`): what it may be waiting for.
pub fn crds_waited_for(app: &AppSummary) -> Vec<&str> {
    app.resources
        .iter()
        .filter(|r| r.group == "apiextensions.k8s.io" && r.kind == "CustomResourceDefinition")
        .filter(|r| r.status != "Synced" || (!r.health.is_empty() && r.health != "Healthy"))
        .map(|r| r.name.as_str())
        .collect()
}

/// Asks Argo CD to look again at an Application whose CRDs the API server has
/// Established while Argo CD still reports them `Progressing` or `Missing`.
///
/// Argo CD never notices that by itself: CRDs carry no tracking annotation
/// (argo-cd v3.5.1 reposerver/repository/repository.go: `SetAppInstance` is
/// skipped for `kube.IsCRD`), so in its cluster cache a CRD belongs to no
/// Application (controller/cache/cache.go, `populateResourceInfoHandler`:
/// CRDs are kept "to diff" with an empty AppName) and a change of one requeues
/// none (the `OnResourceUpdated` handler skips resources without an app). The
/// Application keeps the health of its last comparison, taken while the CRDs
/// were new, until its periodic refresh (`timeout.reconciliation` plus up to
/// `timeout.reconciliation.jitter`, 30-90 s with kindops's settings). And
/// Argo CD's cache learns of a CRD's status late: its CRD watch handles every
/// event in turn with a full API discovery and OpenAPI schema reload
/// (gitops-engine pkg/cache/cluster.go, `watchEvents`), seconds each when many
/// large CRDs arrive at once. So one refresh may still read a stale CRD:
/// kindops asks again, spaced by [`CrdRefresher::interval`], while the
/// Application reports an Established CRD as not ready and has no refresh
/// pending (Argo CD removes the annotation when it has compared).
///
/// Argo CD's verdict is untouched: a CRD the API server has not Established
/// is never a reason to ask, and an Application Argo CD still finds not
/// Healthy is still waited for and named on timeout.
#[derive(Debug, Default)]
pub struct CrdRefresher {
    /// CRDs the API server reports Established.
    pub established: BTreeSet<String>,
    /// CRDs being watched (or already Established).
    watched: BTreeSet<String>,
    /// Per Application: when kindops first and last asked, and how often.
    asked: BTreeMap<String, (Instant, Instant, u32)>,
}

impl CrdRefresher {
    /// How long after its `n`-th request (n >= 1) kindops may ask again:
    /// 2 s, 4 s, then every 5 s; every 30 s once it has asked for 2 minutes.
    pub fn interval(n: u32, asking_for: Duration) -> Duration {
        if asking_for >= Duration::from_secs(120) {
            return Duration::from_secs(30);
        }
        Duration::from_secs(match n {
            0 | 1 => 2,
            2 => 4,
            _ => 5,
        })
    }

    /// The CRDs of `apps` not watched yet; they count as watched from now on.
    pub fn to_watch<'a>(&mut self, apps: impl IntoIterator<Item = &'a AppSummary>) -> Vec<String> {
        let mut new = vec![];
        for app in apps {
            for crd in crds_waited_for(app) {
                if self.watched.insert(crd.to_string()) {
                    new.push(crd.to_string());
                }
            }
        }
        new
    }

    /// The Applications to ask now, each with the Established CRD it waits
    /// for, and when the next one may be due. `apps`: the Applications waited
    /// for and not ready, each with whether a refresh is still pending.
    pub fn due(&self, apps: &[(&AppSummary, bool)], now: Instant) -> (Vec<(String, String)>, Option<Instant>) {
        let mut due = vec![];
        let mut next: Option<Instant> = None;
        for (app, pending) in apps {
            if *pending {
                continue;
            }
            let Some(crd) = crds_waited_for(app).into_iter().find(|c| self.established.contains(*c)) else {
                continue;
            };
            let at = match self.asked.get(&app.name) {
                None => now,
                Some((first, last, n)) => *last + Self::interval(*n, last.saturating_duration_since(*first)),
            };
            if at <= now {
                due.push((app.name.clone(), crd.to_string()));
            } else {
                next = Some(next.map_or(at, |t| t.min(at)));
            }
        }
        (due, next)
    }

    /// Records that kindops asked Argo CD to refresh `app` at `now`.
    pub fn asked(&mut self, app: &str, now: Instant) {
        let e = self.asked.entry(app.to_string()).or_insert((now, now, 0));
        e.1 = now;
        e.2 += 1;
    }

    /// How many times kindops asked Argo CD to refresh `app`.
    pub fn times_asked(&self, app: &str) -> u32 {
        self.asked.get(app).map_or(0, |e| e.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argocd::ResourceStatus;

    fn crd(name: &str, status: &str, health: &str) -> ResourceStatus {
        ResourceStatus {
            group: "apiextensions.k8s.io".into(),
            kind: "CustomResourceDefinition".into(),
            name: name.into(),
            status: status.into(),
            health: health.into(),
            ..Default::default()
        }
    }

    fn app(name: &str, resources: Vec<ResourceStatus>) -> AppSummary {
        AppSummary {
            namespace: "argocd".into(),
            name: name.into(),
            sync: "Synced".into(),
            health: "Progressing".into(),
            resources,
            ..Default::default()
        }
    }

    #[test]
    fn an_application_waits_for_the_crds_it_reports_not_synced_or_not_healthy() {
        let a = app(
            "external-secrets",
            vec![
                crd("done.example.io", "Synced", "Healthy"),
                crd("new.example.io", "Synced", "Progressing"),
                crd("missing.example.io", "OutOfSync", "Missing"),
                // Without controller.resource.health.persist: no health, only sync.
                crd("nohealth.example.io", "Synced", ""),
                ResourceStatus {
                    group: "apps".into(),
                    kind: "Deployment".into(),
                    name: "d".into(),
                    status: "Synced".into(),
                    health: "Progressing".into(),
                    ..Default::default()
                },
            ],
        );
        assert_eq!(crds_waited_for(&a), vec!["new.example.io", "missing.example.io"]);
    }

    #[test]
    fn kindops_asks_again_only_for_established_crds_spaced_and_never_twice_at_once() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let a = app("eso", vec![crd("a.example.io", "Synced", "Progressing")]);
        let b = app("rollouts", vec![crd("b.example.io", "OutOfSync", "Missing")]);
        let mut r = CrdRefresher::default();
        assert_eq!(r.to_watch([&a, &b]), vec!["a.example.io", "b.example.io"]);
        assert!(r.to_watch([&a, &b]).is_empty(), "each CRD is watched once");

        // Nothing is Established yet: no reason to ask, nothing to wake for.
        assert_eq!(r.due(&[(&a, false), (&b, false)], s(0)), (vec![], None));

        r.established.insert("a.example.io".into());
        let (due, next) = r.due(&[(&a, false), (&b, false)], s(0));
        assert_eq!(due, vec![("eso".to_string(), "a.example.io".to_string())]);
        assert_eq!(next, None);
        r.asked("eso", s(0));
        assert_eq!(r.times_asked("eso"), 1);

        // A refresh Argo CD has not consumed yet: never a second one.
        assert_eq!(r.due(&[(&a, true)], s(10)), (vec![], None));
        // Consumed, still not ready: again after 2 s, then 4 s, then every 5 s.
        assert_eq!(r.due(&[(&a, false)], s(1)), (vec![], Some(s(2))));
        assert_eq!(r.due(&[(&a, false)], s(2)).0.len(), 1);
        r.asked("eso", s(2));
        assert_eq!(r.due(&[(&a, false)], s(3)).1, Some(s(6)));
        r.asked("eso", s(6));
        assert_eq!(r.due(&[(&a, false)], s(7)).1, Some(s(11)));
        // After two minutes of asking: every 30 s.
        r.asked("eso", s(125));
        assert_eq!(r.due(&[(&a, false)], s(126)).1, Some(s(155)));

        // Argo CD's verdict is what counts: an Application whose CRD the API
        // server has not Established is not asked about.
        assert_eq!(r.due(&[(&b, false)], s(200)), (vec![], None));
    }
}
