//! An admission webhook that does not answer, as the API server reports it.
//!
//! When a webhook's backend is down (no ready pod behind its Service, a pod
//! restarting, a timeout), the API server refuses the request with
//! `failed calling webhook "<name>": failed to call webhook: Post
//! "https://<service>.<namespace>.svc:443/<path>?timeout=5s": <cause>`
//! (k8s.io/apiserver v0.36.3: `pkg/util/webhook/error.go`
//! `ErrCallingWebhook.Error`, the reason from
//! `pkg/admission/plugin/webhook/{validating,mutating}/dispatcher.go`; the
//! host is the Service's in-cluster name, `pkg/util/webhook/client.go`).
//! Argo CD passes that text on in a failed sync's message, and kindops reads
//! it to say which Service to look at. A webhook that answered and refused
//! the object says `admission webhook "<name>" denied the request`, a
//! verdict on the object, which this does not match.

/// An admission webhook the API server could not call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAway {
    /// The webhook's name in its Validating/MutatingWebhookConfiguration,
    /// e.g. `validate.externalsecret.external-secrets.io`.
    pub webhook: String,
    /// The Service it calls, `(namespace, name)`, when the message names one
    /// (a webhook configured with a `url` has none).
    pub service: Option<(String, String)>,
}

/// Reads a [`WebhookAway`] out of any message that carries the API server's
/// error (an apply error, a sync operation's message, a `SyncError`
/// condition); `None` when it has no such error.
pub fn webhook_away(message: &str) -> Option<WebhookAway> {
    const CALLING: &str = "failed calling webhook \"";
    let rest = &message[message.find(CALLING)? + CALLING.len()..];
    let webhook = rest[..rest.find('"')?].to_string();
    if webhook.is_empty() {
        return None;
    }
    const POST: &str = "Post \"https://";
    let service = rest.find(POST).and_then(|i| {
        let url = &rest[i + POST.len()..];
        let host = url.split(['/', ':', '"', '?']).next()?;
        let mut parts = host.split('.');
        let (name, namespace, svc) = (parts.next()?, parts.next()?, parts.next()?);
        (svc == "svc" && !name.is_empty() && !namespace.is_empty()).then(|| (namespace.to_string(), name.to_string()))
    });
    Some(WebhookAway { webhook, service })
}

impl WebhookAway {
    /// One sentence for a learner: which webhook, which Service, and what
    /// to do (for a failed or given-up sync: Argo CD applies the object again
    /// on its next retry, `kindops up` asks it to sync once more).
    pub fn explain(&self) -> String {
        match &self.service {
            Some((namespace, name)) => format!(
                "the API server could not call admission webhook {} (Service {namespace}/{name}): its pods are not serving, so nothing was applied. \
                 Once they are Ready (kubectl -n {namespace} get pods), run `kindops up` again: it restores what kindops installed and asks Argo CD to sync once more",
                self.webhook
            ),
            None => format!(
                "the API server could not call admission webhook {}: nothing was applied. \
                 Once it answers (kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations), run `kindops up` again: it asks Argo CD to sync once more",
                self.webhook
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // As Argo CD v3.5.1 reports a sync whose apply External Secrets' webhook
    // refused to answer (no ready pod behind its Service).
    const NO_ENDPOINTS: &str = r#"Failed last sync attempt to [4f2c1d0]: one or more objects failed to apply, reason: Internal error occurred: failed calling webhook "validate.externalsecret.external-secrets.io": failed to call webhook: Post "https://external-secrets-webhook.external-secrets.svc:443/validate-external-secrets-io-v1-externalsecret?timeout=5s": no endpoints available for service "external-secrets-webhook" (retried 5 times)."#;

    #[test]
    fn names_the_webhook_and_its_service() {
        let w = webhook_away(NO_ENDPOINTS).unwrap();
        assert_eq!(w.webhook, "validate.externalsecret.external-secrets.io");
        assert_eq!(
            w.service,
            Some(("external-secrets".into(), "external-secrets-webhook".into()))
        );
        let e = w.explain();
        assert!(e.contains("Service external-secrets/external-secrets-webhook"), "{e}");
        assert!(e.contains("kubectl -n external-secrets get pods"), "{e}");
        assert!(e.contains("`kindops up`"), "{e}");
    }

    #[test]
    fn a_refused_connection_and_a_url_webhook() {
        let tekton = r#"Internal error occurred: failed calling webhook "webhook.pipeline.tekton.dev": failed to call webhook: Post "https://tekton-pipelines-webhook.tekton-pipelines.svc:443/defaulting?timeout=10s": dial tcp 10.96.40.2:443: connect: connection refused"#;
        let w = webhook_away(tekton).unwrap();
        assert_eq!(w.webhook, "webhook.pipeline.tekton.dev");
        assert_eq!(
            w.service,
            Some(("tekton-pipelines".into(), "tekton-pipelines-webhook".into()))
        );
        let url = r#"failed calling webhook "v.example.com": failed to call webhook: Post "https://10.0.0.9:8443/validate": context deadline exceeded"#;
        let w = webhook_away(url).unwrap();
        assert_eq!((w.webhook.as_str(), w.service), ("v.example.com", None));
    }

    #[test]
    fn a_verdict_is_not_an_outage() {
        let denied = r#"admission webhook "validate.externalsecret.external-secrets.io" denied the request: spec.data[0].remoteRef.key must not be empty"#;
        assert_eq!(webhook_away(denied), None);
        assert_eq!(webhook_away("one or more objects failed to apply"), None);
        assert_eq!(webhook_away(r#"failed calling webhook """#), None);
    }
}
