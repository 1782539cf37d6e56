//! Token scopes: `<resource type>:<resource name>:<actions>`.
//!
//! Distribution's token protocol asks for access as scopes such as
//! `repository:library/alpine:pull` or `repository:org/app:pull,push`, and
//! `registry:catalog:*` for the catalog. The functions here build and normalize them as
//! oras-go does: actions sorted and de-duplicated, empty actions dropped, `*` absorbing
//! every other action, scopes on the same resource merged, the list sorted; a scope
//! that does not have the three parts is kept verbatim.
//!
//! The module is public only with the `unstable-internals` feature (for the project's
//! conformance suite), with no stability promise.

#![cfg_attr(not(feature = "unstable-internals"), allow(unreachable_pub, dead_code))]

use std::collections::{BTreeMap, BTreeSet};

/// The `pull` action: read manifests, blobs and tags.
pub const ACTION_PULL: &str = "pull";
/// The `push` action: upload (distribution requires `pull` with it).
pub const ACTION_PUSH: &str = "push";
/// The `delete` action.
pub const ACTION_DELETE: &str = "delete";
/// Every action.
pub const ACTION_ALL: &str = "*";
/// The scope that lists the catalog (`/v2/_catalog`).
pub const REGISTRY_CATALOG: &str = "registry:catalog:*";

/// `repository:<repository>:<actions>` with the actions cleaned (see [`clean_actions`]);
/// empty when `repository` is empty or no action remains.
#[must_use]
pub fn scope_repository(repository: &str, actions: &[&str]) -> String {
    let actions = clean_actions(actions);
    if repository.is_empty() || actions.is_empty() {
        return String::new();
    }
    format!("repository:{repository}:{}", actions.join(","))
}

/// The actions sorted and de-duplicated, empty ones dropped; `["*"]` when any is `*`.
#[must_use]
pub fn clean_actions<S: AsRef<str>>(actions: &[S]) -> Vec<String> {
    let set: BTreeSet<&str> = actions.iter().map(AsRef::as_ref).filter(|a| !a.is_empty()).collect();
    if set.contains(ACTION_ALL) {
        return vec![ACTION_ALL.to_owned()];
    }
    set.into_iter().map(str::to_owned).collect()
}

/// The scopes normalized: the actions of scopes on the same resource merged and cleaned
/// (see [`clean_actions`]), scopes left without actions dropped, unparseable scopes kept
/// verbatim, the result sorted. This is the scope set tokens are cached under.
#[must_use]
pub fn clean_scopes<S: AsRef<str>>(scopes: &[S]) -> Vec<String> {
    if let [scope] = scopes {
        // oras-go's fast path: split at the last colon only.
        let scope = scope.as_ref();
        let Some(i) = scope.rfind(':') else { return vec![scope.to_owned()] };
        let actions = clean_actions(&scope[i + 1..].split(',').collect::<Vec<_>>());
        if actions.is_empty() {
            return Vec::new();
        }
        return vec![format!("{}{}", &scope[..=i], actions.join(","))];
    }
    let mut result = Vec::new();
    let mut resources: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for scope in scopes {
        let scope = scope.as_ref();
        let Some((resource_type, name, actions)) = split_scope(scope) else {
            result.push(scope.to_owned());
            continue;
        };
        if actions.is_empty() {
            continue;
        }
        resources
            .entry((resource_type, name))
            .or_default()
            .extend(actions.split(',').filter(|a| !a.is_empty()));
    }
    for ((resource_type, name), actions) in resources {
        if actions.is_empty() {
            continue;
        }
        let actions = if actions.contains(ACTION_ALL) {
            ACTION_ALL.to_owned()
        } else {
            actions.into_iter().collect::<Vec<_>>().join(",")
        };
        result.push(format!("{resource_type}:{name}:{actions}"));
    }
    result.sort();
    result
}

/// The scopes cleaned, then ordered for a token request: scopes that push (or allow
/// every action) first, as go-containerregistry does, because some token servers only
/// look at the first `scope` parameter.
#[must_use]
pub fn push_first<S: AsRef<str>>(scopes: &[S]) -> Vec<String> {
    let mut scopes = clean_scopes(scopes);
    scopes.sort_by_key(|s| !grants_push(s));
    scopes
}

fn grants_push(scope: &str) -> bool {
    split_scope(scope)
        .is_some_and(|(_, _, actions)| actions.split(',').any(|a| a == ACTION_PUSH || a == ACTION_ALL))
}

/// The repository a `repository:<name>:<actions>` scope names.
#[must_use]
pub fn repository_of(scope: &str) -> Option<&str> {
    match split_scope(scope)? {
        ("repository", name, _) if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// A scope `type:name:actions` in its three parts: the type ends at the first `:` and
/// the actions start after the last (a name may hold `:`, as a registry host with a
/// port does); `None` without two colons.
#[must_use]
pub fn split_scope(scope: &str) -> Option<(&str, &str, &str)> {
    let (resource_type, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    Some((resource_type, name, actions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_built_and_merged() {
        assert_eq!(scope_repository("org/app", &[ACTION_PUSH, ACTION_PULL]), "repository:org/app:pull,push");
        assert_eq!(
            clean_scopes(&["repository:b:push", "repository:a:pull", "repository:b:pull"]),
            ["repository:a:pull", "repository:b:pull,push"]
        );
    }

    #[test]
    fn builds_repository_scopes() {
        assert_eq!(scope_repository("a/b", &[ACTION_PULL]), "repository:a/b:pull");
        assert_eq!(scope_repository("a", &[ACTION_PUSH, ACTION_ALL]), "repository:a:*");
        assert_eq!(scope_repository("a", &[""]), "");
        assert_eq!(scope_repository("", &[ACTION_PULL]), "");
    }

    #[test]
    fn merges_and_sorts() {
        let scopes = ["repository:foo:pull", "unknown", "repository:foo:delete", "unknown", "x:y:"];
        assert_eq!(clean_scopes(&scopes), ["repository:foo:delete,pull", "unknown", "unknown"]);
        assert_eq!(clean_scopes(&["repository:host:5000/a:pull"]), ["repository:host:5000/a:pull"]);
        assert_eq!(
            clean_scopes(&["repository:host:5000/a:pull", "repository:host:5000/a:push"]),
            ["repository:host:5000/a:pull,push"]
        );
        assert!(clean_scopes::<&str>(&[]).is_empty());
    }

    #[test]
    fn push_scopes_come_first() {
        let scopes =
            ["repository:a:pull", "repository:z:pull,push", "registry:catalog:*", "repository:m:pull"];
        assert_eq!(
            push_first(&scopes),
            ["registry:catalog:*", "repository:z:pull,push", "repository:a:pull", "repository:m:pull"]
        );
    }

    #[test]
    fn repository_names() {
        assert_eq!(repository_of("repository:org/app:pull,push"), Some("org/app"));
        assert_eq!(repository_of("repository:host:5000/app:pull"), Some("host:5000/app"));
        assert_eq!(repository_of("registry:catalog:*"), None);
        assert_eq!(repository_of("repository::pull"), None);
    }
}
