//! docs/reasons.md is generated from the code: this test fails when the two differ.
//! Regenerate with `UPDATE_DOCS=1 cargo test --test reason_docs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use renche::domain::*;
use renche::message::Explain;
use renche::*;

fn row(out: &mut String, e: &dyn Explain) {
    let params = serde_json::to_string(&e.params()).unwrap();
    let m = e.message();
    out.push_str(&format!(
        "| `{}` | `{}` | {} | {} |\n",
        e.code(),
        params,
        m.zh,
        m.en
    ));
}

fn generate() -> String {
    let mut out = String::from(
        "# Reason and error codes\n\n\
         Generated from the code by `UPDATE_DOCS=1 cargo test --test reason_docs`; a test fails when this file and the\n\
         code differ. Every refusal carries a stable `code`, its `params` and a `message` in zh-CN and en. The\n\
         messages below are shown with example parameters.\n\n\
         ## Refusals (decisions)\n\n\
         | code | example params | zh-CN | en |\n|---|---|---|---|\n",
    );
    for r in Refusal::examples() {
        row(&mut out, &r);
    }
    out.push_str("\n## Input errors (parsers)\n\n| code | example params | zh-CN | en |\n|---|---|---|---|\n");
    let inputs: Vec<Box<dyn Explain>> = vec![
        Box::new(PlateType::parse("77").unwrap_err()),
        Box::new(PlateNumber::parse("", PlateType::SmallCar).unwrap_err()),
        Box::new(PlateNumber::parse("港S12345", PlateType::SmallCar).unwrap_err()),
        Box::new(PlateNumber::parse("粤I12345", PlateType::SmallCar).unwrap_err()),
        Box::new(PlateNumber::parse("粤S1234", PlateType::SmallCar).unwrap_err()),
        Box::new(PlateNumber::parse("粤S12O45", PlateType::SmallCar).unwrap_err()),
        Box::new(PlateNumber::parse("粤SL12345", PlateType::SmallNewEnergy).unwrap_err()),
        Box::new(PlateNumber::parse("粤S12345", PlateType::Trailer).unwrap_err()),
        Box::new(EngineSuffix::parse("12345").unwrap_err()),
        Box::new(EngineSuffix::parse("12345!").unwrap_err()),
        Box::new(ResidentId::parse("1101051949").unwrap_err()),
        Box::new(ResidentId::parse("11010519491231002A").unwrap_err()),
        Box::new(ResidentId::parse("110105194902300020").unwrap_err()),
        Box::new(ResidentId::parse("110105194912310021").unwrap_err()),
        Box::new(PhoneNumber::parse("1380013800").unwrap_err()),
        Box::new(PhoneNumber::parse("1380013800a").unwrap_err()),
        Box::new(PhoneNumber::parse("12800138000").unwrap_err()),
        Box::new(Points::new(2).unwrap_err()),
        Box::new(Policy::parse(r#"{"version": 1}"#).unwrap_err()),
    ];
    for e in &inputs {
        row(&mut out, e.as_ref());
    }
    out
}

const SERVER_ERRORS: &str = "\n## Server errors\n";

#[test]
fn reasons_doc_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reasons.md");
    let generated = generate();
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    // The server's errors follow, generated and checked by the server's own test (error_docs): the core
    // cannot see them.
    let (core, server) = on_disk.split_at(on_disk.find(SERVER_ERRORS).unwrap_or(on_disk.len()));
    if std::env::var_os("UPDATE_DOCS").is_some() && core != generated {
        std::fs::write(path, format!("{generated}{server}")).unwrap();
        return;
    }
    assert!(
        core == generated,
        "docs/reasons.md is stale: run UPDATE_DOCS=1 cargo test --test reason_docs"
    );
}
