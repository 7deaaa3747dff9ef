//! Extra product folders (`--product DIR`, kindops.yaml `products`): a
//! learner's or presenter's own product, deployed the way the built-in coffee
//! shop is.
//!
//! A product folder holds one folder per service, each a kustomization
//! (`kustomization.yaml`) or plain manifests (`*.yaml`, `*.yml`), as Argo CD
//! renders an Application's path. kindops lays the folder into the GitOps
//! tree as `apps/<product>/` and writes an ApplicationSet `<product>` made
//! from coffee's (`bootstrap/phase-4/coffee.yaml`: the same git directory
//! generator, sync policy and retry) with Applications named
//! `<product>-<service>` in namespace `<product>`. Both are published with
//! kindops's own content, so a learner's commits to them are kept as theirs
//! are for every file kindops ships (see `gitsource`), and phase 4 waits for
//! the product's Applications as it does for coffee's.

use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};

/// The built-in product, whose ApplicationSet is the template.
pub const BUILT_IN: &str = "coffee";

/// One product folder, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The folder's name: the ApplicationSet's name and the namespace.
    pub name: String,
    pub dir: PathBuf,
    /// Its service folders' names, sorted.
    pub services: Vec<String>,
}

/// A DNS-1123 label (a namespace's and an Application name part's rule):
/// 1-63 lower-case letters, digits and `-`, starting and ending alphanumeric.
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl Product {
    /// Checks `dir` and reads its services.
    ///
    /// # Errors
    /// One line naming the folder and what to change: it does not exist or
    /// is not a folder; its name is not a DNS-1123 label (it becomes a
    /// namespace) or is the built-in `coffee`; it has no service folder; a
    /// service folder's name is not a DNS-1123 label, or it holds neither a
    /// `kustomization.yaml` nor a YAML file.
    pub fn parse(dir: &str) -> Result<Product, String> {
        let path = PathBuf::from(dir);
        let meta = std::fs::metadata(&path).map_err(|e| format!("product folder {dir}: {e}"))?;
        if !meta.is_dir() {
            return Err(format!("product folder {dir}: not a folder"));
        }
        let canonical = path.canonicalize().map_err(|e| format!("product folder {dir}: {e}"))?;
        let name = canonical
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if !dns_label(&name) {
            return Err(format!(
                "product folder {dir}: its name `{name}` becomes a namespace and Application names: use lower-case letters, digits and `-` (at most 63)"
            ));
        }
        if name == BUILT_IN {
            return Err(format!(
                "product folder {dir}: `{BUILT_IN}` is kindops's own product (apps/{BUILT_IN}); rename your folder"
            ));
        }
        let mut services = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(|e| format!("product folder {dir}: {e}"))? {
            let entry = entry.map_err(|e| format!("product folder {dir}: {e}"))?;
            let service = entry.file_name().to_string_lossy().to_string();
            if service.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if !dns_label(&service) {
                return Err(format!(
                    "product folder {dir}: service folder `{service}` becomes part of an Application name: use lower-case letters, digits and `-`"
                ));
            }
            let has_yaml = std::fs::read_dir(entry.path())
                .map_err(|e| format!("product folder {dir}/{service}: {e}"))?
                .flatten()
                .any(|f| {
                    let n = f.file_name().to_string_lossy().to_string();
                    n.ends_with(".yaml") || n.ends_with(".yml")
                });
            if !has_yaml {
                return Err(format!(
                    "product folder {dir}: service folder `{service}` has no kustomization.yaml and no YAML manifest"
                ));
            }
            services.push(service);
        }
        if services.is_empty() {
            return Err(format!(
                "product folder {dir}: no service folder in it (one folder per service, each a kustomization or YAML manifests)"
            ));
        }
        services.sort();
        Ok(Product {
            name,
            dir: canonical,
            services,
        })
    }

    /// Its ApplicationSet: `coffee` (the text of the materialized
    /// `bootstrap/phase-4/coffee.yaml`, repo URL filled in) with the name,
    /// the generator's directory `apps/<name>/*`, the Applications' name
    /// `<name>-{{.path.basename}}`, their `app.kubernetes.io/part-of` label
    /// and destination namespace set to this product.
    ///
    /// # Errors
    /// `coffee` is not the ApplicationSet shape these fields are set in.
    pub fn application_set(&self, coffee: &str) -> Result<String> {
        let mut set: serde_yaml::Value = serde_yaml::from_str(coffee).context("parsing coffee's ApplicationSet")?;
        let name = &self.name;
        let fields: [(&[&str], serde_yaml::Value); 4] = [
            (&["metadata", "name"], name.as_str().into()),
            (
                &["spec", "template", "metadata", "name"],
                format!("{name}-{{{{.path.basename}}}}").into(),
            ),
            (
                &["spec", "template", "metadata", "labels", "app.kubernetes.io/part-of"],
                name.as_str().into(),
            ),
            (
                &["spec", "template", "spec", "destination", "namespace"],
                name.as_str().into(),
            ),
        ];
        for (at, value) in fields {
            *field(&mut set, at)? = value;
        }
        let dirs = field(&mut set, &["spec", "generators"])?
            .get_mut(0)
            .and_then(|g| g.get_mut("git"))
            .and_then(|g| g.get_mut("directories"))
            .and_then(|d| d.get_mut(0))
            .and_then(|d| d.get_mut("path"))
            .ok_or_else(|| anyhow!("coffee's ApplicationSet has no spec.generators[0].git.directories[0].path"))?;
        *dirs = format!("apps/{name}/*").into();
        Ok(format!(
            "# Made by kindops for the product folder {} (--product), from\n# bootstrap/phase-4/{BUILT_IN}.yaml: one Application per folder under apps/{name}/.\n{}",
            self.dir.display(),
            serde_yaml::to_string(&set)?
        ))
    }
}

/// `plan` with phase 4 waiting for the products' Applications too: their
/// ApplicationSets added to every `wait-applications` step that waits for
/// coffee's.
pub fn wait_for(plan: &crate::plan::Plan, products: &[Product]) -> crate::plan::Plan {
    let mut plan = plan.clone();
    for step in plan.phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
        if let crate::plan::Step::WaitApplications { applicationsets, .. } = step {
            if applicationsets.iter().any(|s| s == BUILT_IN) {
                applicationsets.extend(products.iter().map(|p| p.name.clone()));
            }
        }
    }
    plan
}

/// The value at `path` in `v` (every mapping on the way must exist).
fn field<'a>(v: &'a mut serde_yaml::Value, path: &[&str]) -> Result<&'a mut serde_yaml::Value> {
    path.iter().try_fold(v, |v, key| {
        v.get_mut(*key)
            .ok_or_else(|| anyhow!("coffee's ApplicationSet has no {}", path.join(".")))
    })
}

/// Lays `products` into the materialized GitOps tree `tree`: each folder's
/// files as `apps/<name>/`, its ApplicationSet as
/// `bootstrap/phase-4/<name>.yaml` (which phase 4's apply of
/// `bootstrap/phase-4` takes with coffee's).
///
/// # Errors
/// Two products of the same name; I/O on either tree; coffee's
/// ApplicationSet missing from `tree`.
pub fn lay(tree: &Path, products: &[Product]) -> Result<()> {
    for (i, p) in products.iter().enumerate() {
        if let Some(twin) = products[..i].iter().find(|q| q.name == p.name) {
            return Err(anyhow!(
                "two product folders named {}: {} and {}; rename one",
                p.name,
                twin.dir.display(),
                p.dir.display()
            ));
        }
        let apps = tree.join("apps").join(&p.name);
        std::fs::create_dir_all(&apps).with_context(|| format!("creating {}", apps.display()))?;
        crate::content::overlay(&p.dir, &apps)?;
        let bootstrap = tree.join("bootstrap/phase-4");
        let coffee = std::fs::read_to_string(bootstrap.join(format!("{BUILT_IN}.yaml")))
            .with_context(|| format!("reading {}/{BUILT_IN}.yaml", bootstrap.display()))?;
        let file = bootstrap.join(format!("{}.yaml", p.name));
        std::fs::write(&file, p.application_set(&coffee)?).with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(root: &Path, name: &str, services: &[(&str, &str)]) -> PathBuf {
        let dir = root.join(name);
        for (service, file) in services {
            std::fs::create_dir_all(dir.join(service)).unwrap();
            std::fs::write(dir.join(service).join(file), "kind: ConfigMap\n").unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn phase_4_waits_for_the_products_application_sets_beside_coffees() {
        let plan = crate::plan::Plan::load(
            &crate::plan::PhaseSource::Embedded,
            &crate::content::Content::embedded(),
        )
        .unwrap();
        let tea = Product {
            name: "tea".into(),
            dir: PathBuf::from("/tea"),
            services: vec!["web".into()],
        };
        let sets = |p: &crate::plan::Plan| -> Vec<Vec<String>> {
            p.phases
                .iter()
                .flat_map(|p| &p.steps)
                .filter_map(|s| match s {
                    crate::plan::Step::WaitApplications { applicationsets, .. } if !applicationsets.is_empty() => {
                        Some(applicationsets.clone())
                    }
                    _ => None,
                })
                .collect()
        };
        assert_eq!(sets(&plan), [vec!["coffee".to_string()]]);
        assert_eq!(
            sets(&wait_for(&plan, &[tea])),
            [vec!["coffee".to_string(), "tea".into()]]
        );
    }

    #[test]
    fn a_product_folder_is_checked_and_names_what_to_change() {
        let root = tempfile::tempdir().unwrap();
        let tea = product(root.path(), "tea", &[("web", "cm.yaml"), ("api", "kustomization.yaml")]);
        let p = Product::parse(tea.to_str().unwrap()).unwrap();
        assert_eq!(
            (p.name.as_str(), p.services.clone()),
            ("tea", vec!["api".into(), "web".into()])
        );

        for (dir, said) in [
            (root.path().join("nothing"), "No such file"),
            (
                product(root.path(), "Tea_Shop", &[("web", "a.yaml")]),
                "becomes a namespace",
            ),
            (
                product(root.path(), "coffee", &[("web", "a.yaml")]),
                "kindops's own product",
            ),
            (product(root.path(), "empty", &[]), "no service folder"),
            (
                product(root.path(), "bad", &[("Web", "a.yaml")]),
                "service folder `Web`",
            ),
            (
                product(root.path(), "notes", &[("web", "README.md")]),
                "no kustomization.yaml and no YAML",
            ),
        ] {
            let e = Product::parse(dir.to_str().unwrap()).unwrap_err();
            assert!(e.contains(said) && e.contains(dir.to_str().unwrap()), "{said}: {e}");
        }
    }

    /// The ApplicationSet is coffee's with the product's names: read back
    /// as YAML, every field kindops sets holds the product's, and the rest
    /// (sync policy, retry, sync options) is coffee's.
    #[test]
    fn the_application_set_is_coffees_with_the_products_names() {
        let tree = tempfile::tempdir().unwrap();
        crate::content::Content::embedded()
            .materialize(
                tree.path(),
                &[],
                &crate::content::Vars {
                    repo_url: "http://git.example/gitops.git".into(),
                },
            )
            .unwrap();
        let root = tempfile::tempdir().unwrap();
        let tea = Product::parse(product(root.path(), "tea", &[("web", "cm.yaml")]).to_str().unwrap()).unwrap();
        lay(tree.path(), std::slice::from_ref(&tea)).unwrap();
        assert!(tree.path().join("apps/tea/web/cm.yaml").is_file());
        let text = std::fs::read_to_string(tree.path().join("bootstrap/phase-4/tea.yaml")).unwrap();
        let set: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let coffee: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(tree.path().join("bootstrap/phase-4/coffee.yaml")).unwrap())
                .unwrap();
        assert_eq!(set["kind"], "ApplicationSet");
        assert_eq!(set["metadata"]["name"], "tea");
        assert_eq!(
            set["spec"]["generators"][0]["git"]["directories"][0]["path"],
            "apps/tea/*"
        );
        assert_eq!(
            set["spec"]["generators"][0]["git"]["repoURL"],
            "http://git.example/gitops.git"
        );
        let template = &set["spec"]["template"];
        assert_eq!(template["metadata"]["name"], "tea-{{.path.basename}}");
        assert_eq!(template["metadata"]["labels"]["app.kubernetes.io/part-of"], "tea");
        assert_eq!(template["spec"]["destination"]["namespace"], "tea");
        assert_eq!(
            template["spec"]["syncPolicy"],
            coffee["spec"]["template"]["spec"]["syncPolicy"]
        );
        assert_eq!(set["metadata"]["labels"], coffee["metadata"]["labels"]);

        let twin = Product {
            dir: root.path().join("elsewhere"),
            ..tea.clone()
        };
        let e = lay(tree.path(), &[tea, twin]).unwrap_err().to_string();
        assert!(e.contains("two product folders named tea"), "{e}");
    }
}
