//! Telling both sides: after every binding and every removal the binder and the owner hear of it, in
//! their inbox when registered, by SMS to the phone on the vehicle record when the owner is not. The
//! notices are written in the transaction that did the work, so they exist exactly when the work does.

use crate::error::ServerResult;
use crate::store::{BindingRow, PersonRow, Tx, VehicleRow};
use renche::domain::{mask_name, ActorRole, BindingMethod};
use renche::Timestamp;

/// Notice kinds, as clients tell them apart.
pub const BINDING_CREATED: &str = "binding_created";
pub const BINDING_REMOVED: &str = "binding_removed";
pub const APPLICATION_WITHDRAWN: &str = "application_withdrawn";
pub const REVIEW_REJECTED: &str = "review_rejected";

/// Where a message to the vehicle's owner goes.
enum OwnerChannel {
    Inbox(i64),
    Sms(String),
}

fn owner_channel(v: &VehicleRow) -> OwnerChannel {
    match v.owner_person_id {
        Some(p) => OwnerChannel::Inbox(p),
        None => OwnerChannel::Sms(v.owner_phone.as_str().to_owned()),
    }
}

/// What happened to a binding, with what its notices need to say so.
pub enum BindingChange<'a> {
    /// `binder` bound the vehicle by `method`.
    Created {
        binder: &'a PersonRow,
        method: BindingMethod,
    },
    /// `binding` was removed by someone in `role`.
    Removed {
        binding: &'a BindingRow,
        role: ActorRole,
    },
}

/// The three messages of one change: the binder's, the registered owner's (none when the owner removed
/// it themselves and needs no receipt beyond their own) and the SMS to an unregistered owner.
struct ChangeWords {
    kind: &'static str,
    binder_id: i64,
    binder: (String, String),
    owner: (String, String),
    owner_sms: String,
}

fn change_words(
    tx: &mut dyn Tx,
    vehicle: &VehicleRow,
    change: &BindingChange<'_>,
) -> ServerResult<ChangeWords> {
    let plate = vehicle.plate_number.display();
    let masked_plate = vehicle.plate_number.masked();
    Ok(match *change {
        BindingChange::Created { binder, method } => {
            let name = mask_name(&binder.name);
            let (by_zh, by_en) = (method.name_zh(), method.name_en());
            ChangeWords {
                kind: BINDING_CREATED,
                binder_id: binder.id,
                binder: (
                    format!("您已绑定机动车{plate}(方式:{by_zh})。可在“我的机动车”中查看违法、解除绑定。"),
                    format!("You have bound vehicle {plate} (by {by_en}). See its violations or remove the binding under My vehicles."),
                ),
                owner: (
                    format!("{name}已绑定您的机动车{plate}(方式:{by_zh})。如非您本人同意,请在“我的机动车”中解除。"),
                    format!("{name} has bound your vehicle {plate} (by {by_en}). If you did not agree, remove the binding under My vehicles."),
                ),
                owner_sms: format!(
                    "【交管12123】您名下的机动车{masked_plate}已被{name}绑定(方式:{by_zh})。如非您本人同意,请注册交管12123后在“我的机动车”中解除,或持身份证到车管所窗口办理。"
                ),
            }
        }
        BindingChange::Removed { binding, role } => {
            let name = tx
                .person(binding.binder_id)?
                .map(|p| mask_name(&p.name))
                .unwrap_or_default();
            let (by_zh, by_en) = (role.name_zh(), role.name_en().to_lowercase());
            // Whoever removed it gets the first person; the other side hears who did.
            let binder_by_other = || {
                (
                    format!("您对机动车{plate}的绑定已被{by_zh}解除。"),
                    format!("Your binding of vehicle {plate} was removed by the {by_en}."),
                )
            };
            let owner_by_other = || {
                (
                    format!("{name}对您的机动车{plate}的绑定已由{by_zh}解除。"),
                    format!("{name}'s binding of your vehicle {plate} was removed by the {by_en}."),
                )
            };
            let (binder, owner) = match role {
                ActorRole::Binder => (
                    (
                        format!("您已解除对机动车{plate}的绑定。您处理过的违法记录仍保留在“绑定记录”中。"),
                        format!("You removed your binding of vehicle {plate}. The violations you handled stay under History."),
                    ),
                    owner_by_other(),
                ),
                ActorRole::Owner => (
                    binder_by_other(),
                    (
                        format!("您已解除{name}对机动车{plate}的绑定。"),
                        format!("You removed {name}'s binding of your vehicle {plate}."),
                    ),
                ),
                _ => (binder_by_other(), owner_by_other()),
            };
            ChangeWords {
                kind: BINDING_REMOVED,
                binder_id: binding.binder_id,
                binder,
                owner,
                owner_sms: format!(
                    "【交管12123】{name}对您名下机动车{masked_plate}的绑定已由{by_zh}解除。如有疑问,请持身份证到车管所窗口咨询。"
                ),
            }
        }
    })
}

/// A binding was made or removed: the binder is told, and the owner, in their inbox when registered
/// and by SMS (with the plate masked) when not. An owner who bound their own vehicle hears it once.
pub fn binding_changed(
    tx: &mut dyn Tx,
    now: Timestamp,
    vehicle: &VehicleRow,
    change: BindingChange<'_>,
) -> ServerResult<()> {
    let words = change_words(tx, vehicle, &change)?;
    let (zh, en) = &words.binder;
    tx.insert_notification(words.binder_id, words.kind, zh, en, now)?;
    match owner_channel(vehicle) {
        OwnerChannel::Inbox(owner) if owner == words.binder_id => {}
        OwnerChannel::Inbox(owner) => {
            let (zh, en) = &words.owner;
            tx.insert_notification(owner, words.kind, zh, en, now)?;
        }
        OwnerChannel::Sms(phone) => tx.queue_sms_notice(&phone, &words.owner_sms, now)?,
    }
    Ok(())
}

/// Why an application to bind ended without a binding.
pub enum ApplicationEnd<'a> {
    /// The owner withdrew it.
    Withdrawn,
    /// An officer rejected the manual review, for this reason.
    Rejected {
        reason_zh: &'a str,
        reason_en: &'a str,
    },
}

/// An application ended without a binding: the applicant is told how, and what they can do next.
pub fn application_ended(
    tx: &mut dyn Tx,
    now: Timestamp,
    binder_id: i64,
    vehicle: &VehicleRow,
    end: ApplicationEnd<'_>,
) -> ServerResult<()> {
    let plate = vehicle.plate_number.masked();
    let (kind, zh, en) = match end {
        ApplicationEnd::Withdrawn => (
            APPLICATION_WITHDRAWN,
            format!("车主已撤回您绑定机动车{plate}的申请。如需绑定,请与车主联系。"),
            format!("The owner withdrew your application to bind vehicle {plate}. Talk to the owner if you still need it."),
        ),
        ApplicationEnd::Rejected { reason_zh, reason_en } => (
            REVIEW_REJECTED,
            format!("您绑定机动车{plate}的申请未通过人工审核:{reason_zh}。可重新申请。"),
            format!("Your application to bind vehicle {plate} was not approved in manual review: {reason_en}. You may apply again."),
        ),
    };
    tx.insert_notification(binder_id, kind, &zh, &en, now)?;
    Ok(())
}
