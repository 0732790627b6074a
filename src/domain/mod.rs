//! Domain values, each parsed once into a type so that an invalid value cannot exist past the parser.

pub mod identity;
pub mod licence;
pub mod offence;
pub mod plate_number;
pub mod plate_type;
pub mod vehicle;

pub use identity::{mask_name, PhoneNumber, PhoneNumberError, ResidentId, ResidentIdError};
pub use licence::{Fen, LicenceClass, LicenceStatus, Points, PointsError, ScoringCycle};
pub use offence::{offence, offence_name_en, offences, Offence, OffenceCode, OffenceCodeError};
pub use plate_number::{PlateNumber, PlateNumberError};
pub use plate_type::{PlateType, PlateTypeError};
pub use vehicle::{EngineSuffix, EngineSuffixError, OwnerKind, UseNature};

use vehicle::code_enum;

code_enum! {
    /// Where a person deals with the service: the 12123 app (or web), a self-service kiosk, an officer's window.
    Channel, "channel (app, kiosk or window)" {
        App = "app", "交管12123", "12123 app";
        Kiosk = "kiosk", "自助终端", "Self-service kiosk";
        Window = "window", "业务窗口", "Service window";
    }
}

code_enum! {
    /// How a binding is made.
    BindingMethod, "binding method (qr, sms or window)" {
        Qr = "qr", "扫码绑定", "QR scan";
        Sms = "sms", "短信验证绑定", "SMS code";
        Window = "window", "窗口办理", "At a window";
    }
}

code_enum! {
    /// The binder's relationship to the owner, picked in the QR flow; the SMS flow records `other`.
    Relationship, "relationship" {
        Parent = "parent", "父母", "Parent";
        Spouse = "spouse", "配偶", "Spouse";
        Child = "child", "子女", "Child";
        Sibling = "sibling", "兄弟姐妹", "Sibling";
        Relative = "relative", "其他亲属", "Other relative";
        Friend = "friend", "朋友", "Friend";
        Colleague = "colleague", "同事", "Colleague";
        Other = "other", "其他", "Other";
    }
}

code_enum! {
    /// How a violation was recorded.
    ViolationSource, "violation source (device or on_site)" {
        Device = "device", "交通技术监控设备记录", "Recorded by a traffic camera";
        OnSite = "on_site", "现场处罚", "Ticketed on site";
    }
}

code_enum! {
    /// Where a violation stands.
    ViolationState, "violation state" {
        Unhandled = "unhandled", "未处理", "Not handled";
        Handled = "handled", "已处理未缴款", "Handled, fine unpaid";
        Paid = "paid", "已缴款", "Paid";
    }
}

code_enum! {
    /// Who is acting.
    ActorRole, "actor role (binder, owner or officer)" {
        Binder = "binder", "绑定人", "Binder";
        Owner = "owner", "车主", "Owner";
        Officer = "officer", "窗口民警", "Window officer";
        Other = "other", "其他用户", "Another user";
    }
}

code_enum! {
    /// The originals a window officer checks by hand (FAQ 7).
    Document, "document" {
        DrivingLicence = "driving_licence", "驾驶证原件", "Driving licence (original)";
        IdCard = "id_card", "身份证原件", "Resident ID card (original)";
        VehicleLicence = "vehicle_licence", "机动车行驶证原件", "Vehicle licence (original)";
    }
}

/// A code as typed, without surrounding white space. Codes start and end with a letter or digit, so a code
/// that already does is taken as it is: `str::trim` decodes characters from both ends, which binding checks
/// felt, for the same answer. Public because `code_enum!` is used by the server too.
pub fn trimmed_code(code: &str) -> &str {
    let b = code.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() => code,
        _ => code.trim(),
    }
}
