//! JSON schemas of the core's types as request bodies take them, for the OpenAPI document: the core does not
//! depend on schemars (it stays small for WebAssembly), so its code lists are described here by their codes.

use schemars::generate::SchemaGenerator;
use schemars::{json_schema, JsonSchema, Schema};
use std::borrow::Cow;
use std::marker::PhantomData;

/// A type whose values are a fixed list of codes (the rules' `code_enum!` types), described by them.
pub trait CodeList: 'static {
    const NAME: &'static str;
    fn codes() -> Vec<&'static str>;
}

macro_rules! code_lists {
    ($($t:ident),*) => {$(
        impl CodeList for $t {
            const NAME: &'static str = stringify!($t);
            fn codes() -> Vec<&'static str> {
                $t::ALL.iter().map(|c| c.code()).collect()
            }
        }
    )*};
}
use crate::flows::review::RejectReason;
use renche::domain::{ActorRole, BindingMethod, Document, Relationship};
code_lists!(
    Relationship,
    Document,
    RejectReason,
    BindingMethod,
    ActorRole
);

/// An instant as the API answers it: RFC 3339 in UTC (`2026-09-01T02:00:00Z`).
pub struct Instant;

impl JsonSchema for Instant {
    fn schema_name() -> Cow<'static, str> {
        "Instant".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date-time" })
    }
}

/// The JSON schema of a body field of a core type listed by its codes (the core does not depend on
/// schemars: it stays small for WebAssembly).
pub struct Codes<T>(PhantomData<T>);

impl<T: CodeList> JsonSchema for Codes<T> {
    fn schema_name() -> Cow<'static, str> {
        T::NAME.into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": T::codes() })
    }
}

/// An amount in fen as the body's fields take it: a whole number up to `Fen::MAX`.
pub struct FenAmount;

impl JsonSchema for FenAmount {
    fn schema_name() -> Cow<'static, str> {
        "Fen".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 0, "maximum": renche::domain::Fen::MAX })
    }
}
