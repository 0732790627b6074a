//! Who may act at the window.

use crate::error::{ServerError, ServerResult};
use crate::store::{PersonRow, Role, Tx};

/// Whether a person is an officer (for the window endpoints).
pub fn require_officer(tx: &mut dyn Tx, person_id: i64) -> ServerResult<PersonRow> {
    let p = tx
        .person(person_id)?
        .ok_or_else(ServerError::unauthenticated)?;
    if p.role != Role::Officer {
        return Err(ServerError::not_an_officer());
    }
    Ok(p)
}
