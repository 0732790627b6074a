//! The layers hold: `http` → `flows` → `store`, `state` a leaf, no HTTP resource module imports another,
//! and no page of the web app imports `app.js` or another page. Read from the source as text, so that a
//! change that breaks a rule fails here before review.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// Modules of `server/src/http/` that every resource may use; the other files there are resources.
const HTTP_SHARED: &[&str] = &[
    "mod",
    "error",
    "extract",
    "guard",
    "headers",
    "idempotency",
    "metrics",
    "observe",
    "openapi",
    "schema",
    "views",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Lines that are code, not comments (a rule about imports is about code).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.starts_with("//"))
}

/// A flow or store module that reaches for HTTP.
fn below_http_violations(name: &str, text: &str) -> Vec<String> {
    code_lines(text)
        .filter(|(_, l)| {
            l.contains("axum") || l.contains("crate::http") || l.contains("tower_http")
        })
        .map(|(n, l)| format!("{name}:{n}: `{l}` (flows and store know nothing of HTTP)"))
        .collect()
}

/// A store module that reaches up into the flows.
fn store_violations(name: &str, text: &str) -> Vec<String> {
    code_lines(text)
        .filter(|(_, l)| l.contains("crate::flows") || l.contains("crate::state"))
        .map(|(n, l)| format!("{name}:{n}: `{l}` (the store is below the flows)"))
        .collect()
}

/// `state.rs` is a leaf of the layers.
fn state_violations(name: &str, text: &str) -> Vec<String> {
    code_lines(text)
        .filter(|(_, l)| l.contains("crate::http") || l.contains("crate::flows"))
        .map(|(n, l)| format!("{name}:{n}: `{l}` (state imports neither http nor flows)"))
        .collect()
}

/// An HTTP module that uses a resource module other than itself.
fn resource_violations(name: &str, text: &str, resources: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, l) in code_lines(text) {
        for other in resources.iter().filter(|r| *r != name) {
            let uses = [
                format!("crate::http::{other}::"),
                format!("crate::http::{other};"),
                format!("crate::http::{{{other}"),
                format!("super::{other}::"),
                format!("super::{other};"),
                format!("http::{other}::"),
            ];
            if uses.iter().any(|u| l.contains(u.as_str())) {
                out.push(format!(
                    "http/{name}.rs:{n}: `{l}` (resource modules never import each other)"
                ));
            }
        }
    }
    out
}

/// The module a page's static import names, relative to `www/js/pages/`.
fn page_import_violations(name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, l) in code_lines(text) {
        if !(l.starts_with("import ") || l.starts_with("export ") && l.contains(" from ")) {
            continue;
        }
        let Some(target) = l.split(['"', '\'']).nth(1) else {
            continue;
        };
        let file = target.rsplit('/').next().unwrap_or(target);
        let another_page = target.starts_with("./") || target.contains("/pages/");
        if file == "app.js" || file == "router.js" || another_page {
            out.push(format!(
                "www/js/pages/{name}:{n}: `{l}` (pages import state and widgets, never app.js, the router or another page)"
            ));
        }
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn report(found: Vec<String>) {
    assert!(
        found.is_empty(),
        "layer rules broken:\n{}",
        found.join("\n")
    );
}

#[test]
fn flows_and_store_know_nothing_of_http() {
    let src = root().join("server/src");
    let mut found = Vec::new();
    for dir in ["flows", "store"] {
        for f in files(&src.join(dir), "rs") {
            let name = f.strip_prefix(&src).unwrap().display().to_string();
            found.extend(below_http_violations(&name, &read(&f)));
            if dir == "store" {
                found.extend(store_violations(&name, &read(&f)));
            }
        }
    }
    found.extend(state_violations("state.rs", &read(&src.join("state.rs"))));
    report(found);
}

#[test]
fn http_resource_modules_never_import_each_other() {
    let http = root().join("server/src/http");
    let all = files(&http, "rs");
    let resources: Vec<String> = all
        .iter()
        .map(|f| stem(f))
        .filter(|s| !HTTP_SHARED.contains(&s.as_str()))
        .collect();
    assert!(
        resources.len() >= 5,
        "resource modules found: {resources:?}"
    );
    let mut found = Vec::new();
    for f in &all {
        let name = stem(f);
        let text = read(f);
        // The OpenAPI document, like the route table it mirrors, names every resource's body types; so no
        // other module may use it, and no circle runs through it.
        if name == "openapi" {
            continue;
        }
        if name != "mod" && text.contains("openapi::") {
            found.push(format!(
                "http/{name}.rs uses the OpenAPI document, which only the route table serves"
            ));
        }
        // Shared modules may not reach into a resource either: that would be a circle through them.
        found.extend(resource_violations(&name, &text, &resources));
    }
    report(found);
}

#[test]
fn pages_import_neither_the_app_nor_each_other() {
    let pages = root().join("www/js/pages");
    let all = files(&pages, "js");
    assert!(all.len() >= 5, "pages found: {all:?}");
    let mut found = Vec::new();
    for f in &all {
        found.extend(page_import_violations(
            &f.file_name().unwrap().to_string_lossy(),
            &read(f),
        ));
    }
    report(found);
}

/// The checks themselves catch what they are for (each rule fails on a file that breaks it).
#[test]
fn the_checks_catch_what_they_are_for() {
    assert_eq!(
        below_http_violations("flows/x.rs", "use axum::Json;").len(),
        1
    );
    assert_eq!(
        below_http_violations("flows/x.rs", "use crate::http::views::V;").len(),
        1
    );
    assert!(below_http_violations(
        "flows/x.rs",
        "// axum is not used here\nuse crate::store::Tx;"
    )
    .is_empty());
    assert_eq!(
        store_violations("store/x.rs", "use crate::flows::facts;").len(),
        1
    );
    assert_eq!(
        state_violations("state.rs", "use crate::http::guard;").len(),
        1
    );
    let resources = vec!["bindings".to_owned(), "window".to_owned()];
    assert_eq!(
        resource_violations(
            "window",
            "use crate::http::bindings::committed_answer;",
            &resources
        )
        .len(),
        1
    );
    assert_eq!(
        resource_violations("window", "use super::bindings::x;", &resources).len(),
        1
    );
    assert!(resource_violations("window", "use crate::http::views::V;", &resources).is_empty());
    assert!(
        resource_violations("bindings", "use crate::http::bindings::x;", &resources).is_empty()
    );
    assert_eq!(
        page_import_violations("qr.js", "import { app } from '../app.js';").len(),
        1
    );
    assert_eq!(
        page_import_violations("qr.js", "import { render } from './bind.js';").len(),
        1
    );
    assert_eq!(
        page_import_violations("qr.js", "import { go } from \"../router.js\";").len(),
        1
    );
    assert!(page_import_violations("qr.js", "import { state } from '../state.js';").is_empty());
    assert!(page_import_violations(
        "qr.js",
        "import { badge } from '../widgets/plate-badge.js';"
    )
    .is_empty());
}
