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

/// A binding was made: the binder gets a receipt, the owner is told who (masked) and how, and what to do
/// if they did not agree.
pub fn binding_created(
    tx: &mut dyn Tx,
    now: Timestamp,
    binder: &PersonRow,
    vehicle: &VehicleRow,
    method: BindingMethod,
) -> ServerResult<()> {
    let plate = vehicle.plate_number.display();
    let masked_plate = vehicle.plate_number.masked();
    let name = mask_name(&binder.name);
    tx.insert_notification(
        binder.id,
        BINDING_CREATED,
        &format!(
            "您已绑定机动车{plate}(方式:{})。可在“我的机动车”中查看违法、解除绑定。",
            method.name_zh()
        ),
        &format!(
            "You have bound vehicle {plate} (by {}). See its violations or remove the binding under My vehicles.",
            method.name_en()
        ),
        now,
    )?;
    match owner_channel(vehicle) {
        OwnerChannel::Inbox(owner) if owner == binder.id => {}
        OwnerChannel::Inbox(owner) => tx.insert_notification(
            owner,
            BINDING_CREATED,
            &format!(
                "{name}已绑定您的机动车{plate}(方式:{})。如非您本人同意,请在“我的机动车”中解除。",
                method.name_zh()
            ),
            &format!(
                "{name} has bound your vehicle {plate} (by {}). If you did not agree, remove the binding under My vehicles.",
                method.name_en()
            ),
            now,
        )?,
        OwnerChannel::Sms(phone) => tx.queue_sms_notice(
            &phone,
            &format!(
                "【交管12123】您名下的机动车{masked_plate}已被{name}绑定(方式:{})。如非您本人同意,请注册交管12123后在“我的机动车”中解除,或持身份证到车管所窗口办理。",
                method.name_zh()
            ),
            now,
        )?,
    }
    Ok(())
}

/// A binding was removed by `actor` in `role`: both sides are told, each in the words that fit them.
pub fn binding_removed(
    tx: &mut dyn Tx,
    now: Timestamp,
    binding: &BindingRow,
    vehicle: &VehicleRow,
    role: ActorRole,
) -> ServerResult<()> {
    let plate = vehicle.plate_number.display();
    let masked_plate = vehicle.plate_number.masked();
    let binder_name = tx
        .person(binding.binder_id)?
        .map(|p| mask_name(&p.name))
        .unwrap_or_default();
    let (binder_zh, binder_en) = match role {
        ActorRole::Binder => (
            format!("您已解除对机动车{plate}的绑定。您处理过的违法记录仍保留在“绑定记录”中。"),
            format!("You removed your binding of vehicle {plate}. The violations you handled stay under History."),
        ),
        other => (
            format!("您对机动车{plate}的绑定已被{}解除。", other.name_zh()),
            format!(
                "Your binding of vehicle {plate} was removed by the {}.",
                other.name_en().to_lowercase()
            ),
        ),
    };
    tx.insert_notification(
        binding.binder_id,
        BINDING_REMOVED,
        &binder_zh,
        &binder_en,
        now,
    )?;
    match owner_channel(vehicle) {
        OwnerChannel::Inbox(owner) if owner == binding.binder_id => {}
        OwnerChannel::Inbox(owner) => {
            let (zh, en) = if role == ActorRole::Owner {
                (
                    format!("您已解除{binder_name}对机动车{plate}的绑定。"),
                    format!("You removed {binder_name}'s binding of your vehicle {plate}."),
                )
            } else {
                (
                    format!(
                        "{binder_name}对您的机动车{plate}的绑定已由{}解除。",
                        role.name_zh()
                    ),
                    format!(
                        "{binder_name}'s binding of your vehicle {plate} was removed by the {}.",
                        role.name_en().to_lowercase()
                    ),
                )
            };
            tx.insert_notification(owner, BINDING_REMOVED, &zh, &en, now)?;
        }
        OwnerChannel::Sms(phone) => tx.queue_sms_notice(
            &phone,
            &format!(
                "【交管12123】{binder_name}对您名下机动车{masked_plate}的绑定已由{}解除。如有疑问,请持身份证到车管所窗口咨询。",
                role.name_zh()
            ),
            now,
        )?,
    }
    Ok(())
}

/// The owner withdrew an application on their vehicle: the applicant is told.
pub fn application_withdrawn(
    tx: &mut dyn Tx,
    now: Timestamp,
    binder_id: i64,
    vehicle: &VehicleRow,
) -> ServerResult<()> {
    let plate = vehicle.plate_number.masked();
    tx.insert_notification(
        binder_id,
        APPLICATION_WITHDRAWN,
        &format!("车主已撤回您绑定机动车{plate}的申请。如需绑定,请与车主联系。"),
        &format!(
            "The owner withdrew your application to bind vehicle {plate}. Talk to the owner if you still need it."
        ),
        now,
    )?;
    Ok(())
}

/// The officer rejected a manual review: the applicant is told why.
pub fn review_rejected(
    tx: &mut dyn Tx,
    now: Timestamp,
    binder_id: i64,
    vehicle: &VehicleRow,
    reason_zh: &str,
    reason_en: &str,
) -> ServerResult<()> {
    let plate = vehicle.plate_number.masked();
    tx.insert_notification(
        binder_id,
        REVIEW_REJECTED,
        &format!("您绑定机动车{plate}的申请未通过人工审核:{reason_zh}。可重新申请。"),
        &format!(
            "Your application to bind vehicle {plate} was not approved in manual review: {reason_en}. You may apply again."
        ),
        now,
    )?;
    Ok(())
}
