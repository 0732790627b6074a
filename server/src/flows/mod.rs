//! The use cases: each takes the open transaction (`&mut dyn Tx`), the policies, the instant and its
//! input, and returns a result. No HTTP here: the `http` layer parses requests into these inputs and
//! shapes the results into answers. What two flows share is a module of its own (facts, audit, sms,
//! decision).

pub mod accounts;
pub mod applications;
pub mod audit;
pub mod binding;
pub mod consent;
pub mod decision;
pub mod facts;
pub mod history;
pub mod identity;
pub mod kiosks;
pub mod notices;
pub mod officer;
pub mod preview;
pub mod review;
pub mod sessions;
pub mod sms;
pub mod vehicles;
pub mod violations;
pub mod window;

use crate::error::{ServerError, ServerResult};
use crate::store::StoreResult;

/// A row the request named must be there: a missing one answers 404, a store failure stays what it is.
pub trait OrNotFound<T> {
    fn or_not_found(self) -> ServerResult<T>;
}

impl<T> OrNotFound<T> for StoreResult<Option<T>> {
    fn or_not_found(self) -> ServerResult<T> {
        self?.ok_or_else(ServerError::not_found)
    }
}
