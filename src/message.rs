//! Bilingual messages and refusal reasons: a stable machine code, its parameters, and zh-CN / en text.

use serde::Serialize;
use std::collections::BTreeMap;

/// A message in Simplified Chinese and English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    pub zh: String,
    pub en: String,
}

impl Message {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// A parameter value carried by a reason (`{limit: 3, current: 3}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Param {
    Int(i64),
    Text(String),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<u32> for Param {
    fn from(v: u32) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<u8> for Param {
    fn from(v: u8) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

pub type Params = BTreeMap<&'static str, Param>;

/// Anything that explains itself with a stable code and a bilingual message (parse errors, reasons).
pub trait Explain {
    /// A stable SCREAMING_SNAKE_CASE code.
    fn code(&self) -> &'static str;
    fn params(&self) -> Params {
        Params::new()
    }
    fn message(&self) -> Message;
}

/// One reason a decision came out as it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub params: Params,
    pub message: Message,
}

impl Reason {
    pub fn of<E: Explain + ?Sized>(e: &E) -> Self {
        Self {
            code: e.code(),
            params: e.params(),
            message: e.message(),
        }
    }
}

/// Builds a `Params` map: `params![limit = 3, current = n]`.
#[macro_export]
macro_rules! params {
    ($($k:ident = $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::message::Params::new();
        $( m.insert(stringify!($k), $crate::message::Param::from($v)); )*
        m
    }};
}
