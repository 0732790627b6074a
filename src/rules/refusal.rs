//! Every rule that can fail, with its stable code, parameters and messages.

use crate::domain::{Document, OwnerKind, PlateType, UseNature};
use crate::message::{Explain, Message, Params};
use crate::params;
use crate::time::CstDate;

/// One failing rule of a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    // Binding.
    FeatureNotAvailableInCity {
        city_zh: String,
        city_en: String,
    },
    BindingChannelNotSupported {
        channel: crate::domain::Channel,
    },
    MethodNotOnChannel {
        method: crate::domain::BindingMethod,
        channel: crate::domain::Channel,
    },
    VehicleIsYourOwn,
    VehicleNotIndividual {
        owner_kind: OwnerKind,
    },
    PlateTypeNotBindable {
        plate_type: PlateType,
    },
    UseNatureNotBindable {
        use_nature: UseNature,
    },
    AlreadyBound,
    UserBindingLimitReached {
        limit: u32,
        current: u32,
    },
    VehicleBinderLimitReached {
        limit: u32,
        current: u32,
    },
    DailyApplicationCapReached {
        limit: u32,
        current: u32,
    },
    YearlyApplicationCapReached {
        limit: u32,
        current: u32,
    },
    WindowDocumentsNotChecked {
        missing: Vec<Document>,
    },
    RealPersonVerificationRequired,
    // Violations.
    /// Paid: the API's refusal to handle it again.
    AlreadyHandled,
    /// Decided and not yet paid: payable online, with its due date (unknown without `decidedAt`) and the
    /// late fee owed today.
    AwaitingPayment {
        due_date: Option<CstDate>,
        late_fee_fen: u64,
    },
    VehicleNotBound,
    OccurredBeforeBinding {
        effective: CstDate,
    },
    NotDeviceRecorded,
    OnSiteTicket,
    UnscoredNotForBinder,
    VehicleNotSelfService {
        plate_type: PlateType,
        owner_kind: OwnerKind,
        use_nature: UseNature,
    },
    FineAboveOnlineLimit {
        limit_fen: u64,
        fine_fen: u64,
    },
    NoDrivingLicence,
    LicenceNotValid {
        status: crate::domain::LicenceStatus,
    },
    PointsCeilingReached {
        current: u32,
        points: u8,
        ceiling: u32,
    },
    LicenceClassNotCovering {
        class: crate::domain::LicenceClass,
    },
    KioskNeedsBinding,
    // Unbinding.
    BindingAlreadyRemoved,
    NotAllowedToRemoveBinding,
}

fn yuan(fen: u64) -> String {
    crate::domain::Fen::new(fen)
        .map(|f| f.to_yuan_string())
        .unwrap_or_else(|| fen.to_string())
}

fn doc_list(docs: &[Document], zh: bool) -> String {
    docs.iter()
        .map(|d| if zh { d.name_zh() } else { d.name_en() })
        .collect::<Vec<_>>()
        .join(if zh { "、" } else { ", " })
}

impl Explain for Refusal {
    fn code(&self) -> &'static str {
        match self {
            Self::FeatureNotAvailableInCity { .. } => "FEATURE_NOT_AVAILABLE_IN_CITY",
            Self::BindingChannelNotSupported { .. } => "BINDING_CHANNEL_NOT_SUPPORTED",
            Self::MethodNotOnChannel { .. } => "BINDING_METHOD_NOT_ON_CHANNEL",
            Self::VehicleIsYourOwn => "VEHICLE_IS_YOUR_OWN",
            Self::VehicleNotIndividual { .. } => "VEHICLE_NOT_INDIVIDUAL_OWNED",
            Self::PlateTypeNotBindable { .. } => "PLATE_TYPE_NOT_BINDABLE",
            Self::UseNatureNotBindable { .. } => "USE_NATURE_NOT_BINDABLE",
            Self::AlreadyBound => "ALREADY_BOUND",
            Self::UserBindingLimitReached { .. } => "USER_BINDING_LIMIT_REACHED",
            Self::VehicleBinderLimitReached { .. } => "VEHICLE_BINDER_LIMIT_REACHED",
            Self::DailyApplicationCapReached { .. } => "DAILY_APPLICATION_CAP_REACHED",
            Self::YearlyApplicationCapReached { .. } => "YEARLY_APPLICATION_CAP_REACHED",
            Self::WindowDocumentsNotChecked { .. } => "WINDOW_DOCUMENTS_NOT_CHECKED",
            Self::RealPersonVerificationRequired => "REAL_PERSON_VERIFICATION_REQUIRED",
            Self::AlreadyHandled => "VIOLATION_ALREADY_HANDLED",
            Self::AwaitingPayment { .. } => "VIOLATION_AWAITING_PAYMENT",
            Self::VehicleNotBound => "VEHICLE_NOT_BOUND",
            Self::OccurredBeforeBinding { .. } => "OCCURRED_BEFORE_BINDING",
            Self::NotDeviceRecorded => "NOT_DEVICE_RECORDED",
            Self::OnSiteTicket => "ON_SITE_TICKET",
            Self::UnscoredNotForBinder => "UNSCORED_NOT_FOR_BINDER",
            Self::VehicleNotSelfService { .. } => "VEHICLE_NOT_SELF_SERVICE",
            Self::FineAboveOnlineLimit { .. } => "FINE_ABOVE_ONLINE_LIMIT",
            Self::NoDrivingLicence => "NO_DRIVING_LICENCE",
            Self::LicenceNotValid { .. } => "LICENCE_NOT_VALID",
            Self::PointsCeilingReached { .. } => "POINTS_CEILING_REACHED",
            Self::LicenceClassNotCovering { .. } => "LICENCE_CLASS_NOT_COVERING",
            Self::KioskNeedsBinding => "KIOSK_NEEDS_BINDING",
            Self::BindingAlreadyRemoved => "BINDING_ALREADY_REMOVED",
            Self::NotAllowedToRemoveBinding => "NOT_ALLOWED_TO_REMOVE_BINDING",
        }
    }

    fn params(&self) -> Params {
        match self {
            Self::FeatureNotAvailableInCity { city_zh, city_en } => {
                params![cityZh = city_zh.as_str(), cityEn = city_en.as_str()]
            }
            Self::BindingChannelNotSupported { channel } => params![channel = channel.code()],
            Self::MethodNotOnChannel { method, channel } => {
                params![method = method.code(), channel = channel.code()]
            }
            Self::VehicleNotIndividual { owner_kind } => params![ownerKind = owner_kind.code()],
            Self::PlateTypeNotBindable { plate_type } => params![plateType = plate_type.code()],
            Self::UseNatureNotBindable { use_nature } => params![useNature = use_nature.code()],
            Self::UserBindingLimitReached { limit, current }
            | Self::VehicleBinderLimitReached { limit, current }
            | Self::DailyApplicationCapReached { limit, current }
            | Self::YearlyApplicationCapReached { limit, current } => {
                params![limit = *limit, current = *current]
            }
            Self::WindowDocumentsNotChecked { missing } => {
                params![
                    missing = missing
                        .iter()
                        .map(|d| d.code())
                        .collect::<Vec<_>>()
                        .join(",")
                ]
            }
            Self::OccurredBeforeBinding { effective } => params![effective = effective.to_string()],
            Self::VehicleNotSelfService {
                plate_type,
                owner_kind,
                use_nature,
            } => {
                params![
                    plateType = plate_type.code(),
                    ownerKind = owner_kind.code(),
                    useNature = use_nature.code()
                ]
            }
            Self::FineAboveOnlineLimit {
                limit_fen,
                fine_fen,
            } => {
                params![limitFen = *limit_fen as i64, fineFen = *fine_fen as i64]
            }
            Self::LicenceNotValid { status } => params![status = status.code()],
            Self::PointsCeilingReached {
                current,
                points,
                ceiling,
            } => {
                params![current = *current, points = *points, ceiling = *ceiling]
            }
            Self::LicenceClassNotCovering { class } => params![class = class.code()],
            Self::AwaitingPayment {
                due_date,
                late_fee_fen,
            } => {
                let mut p = params![lateFeeFen = *late_fee_fen as i64];
                if let Some(day) = due_date {
                    p.insert("dueDate", day.to_string().into());
                }
                p
            }
            _ => params![],
        }
    }

    fn message(&self) -> Message {
        match self {
            Self::FeatureNotAvailableInCity { city_zh, city_en } => Message::new(
                format!("{city_zh}尚未开通绑定非本人机动车业务,请到交通违法处理窗口办理"),
                format!("Binding a vehicle not in your name is not yet available in {city_en}; please go to a traffic-violation window"),
            ),
            Self::BindingChannelNotSupported { channel } => Message::new(
                format!("{}不能办理绑定,请使用交管12123或到业务窗口办理", channel.name_zh()),
                format!("Bindings cannot be made at a {}; use the 12123 app or a window", channel.name_en().to_ascii_lowercase()),
            ),
            Self::MethodNotOnChannel { method, channel } => Message::new(
                format!("{}不能在{}办理", method.name_zh(), channel.name_zh()),
                format!("{} binding is not done through the {}", method.name_en(), channel.name_en().to_ascii_lowercase()),
            ),
            Self::VehicleIsYourOwn => Message::new(
                "该车辆登记在您本人名下,无需绑定",
                "This vehicle is registered in your own name; it needs no binding",
            ),
            Self::VehicleNotIndividual { owner_kind } => Message::new(
                format!("只能绑定个人名下的机动车,该车所有人为{}", owner_kind.name_zh()),
                format!("Only vehicles registered to an individual can be bound; this one belongs to a {}", owner_kind.name_en().to_ascii_lowercase()),
            ),
            Self::PlateTypeNotBindable { plate_type } => Message::new(
                format!("只能绑定小型汽车或小型新能源汽车,该车为{}", plate_type.name_zh()),
                format!("Only small cars and small new-energy cars can be bound; this is a {}", plate_type.name_en().to_ascii_lowercase()),
            ),
            Self::UseNatureNotBindable { use_nature } => Message::new(
                format!("{}车辆不能绑定,其交通违法请到交通违法处理窗口处理", use_nature.name_zh()),
                format!("{} vehicles cannot be bound; their violations are handled at a traffic-violation window", use_nature.name_en()),
            ),
            Self::AlreadyBound => Message::new("您已绑定该车辆", "You have already bound this vehicle"),
            Self::UserBindingLimitReached { limit, current } => Message::new(
                format!("您已绑定{current}辆非本人机动车,最多同时绑定{limit}辆;请先解除一辆"),
                format!("You already have {current} bound vehicles; at most {limit} at a time. Remove one first"),
            ),
            Self::VehicleBinderLimitReached { limit, current } => Message::new(
                format!("该车辆已被{current}名非车主用户绑定,最多{limit}名"),
                format!("This vehicle already has {current} binders besides its owner; at most {limit}"),
            ),
            Self::DailyApplicationCapReached { limit, current } => Message::new(
                format!("今日已提交{current}次绑定申请,每日最多{limit}次"),
                format!("You have filed {current} binding applications today; at most {limit} a day"),
            ),
            Self::YearlyApplicationCapReached { limit, current } => Message::new(
                format!("本年度已提交{current}次绑定申请,每年最多{limit}次"),
                format!("You have filed {current} binding applications this year; at most {limit} a year"),
            ),
            Self::WindowDocumentsNotChecked { missing } => Message::new(
                format!("窗口办理须核验原件:{}", doc_list(missing, true)),
                format!("At a window the originals must be checked: {}", doc_list(missing, false)),
            ),
            Self::RealPersonVerificationRequired => Message::new(
                "请先完成实人认证",
                "Complete real-person verification first",
            ),
            Self::AlreadyHandled => Message::new("该交通违法已处理", "This violation has already been handled"),
            Self::AwaitingPayment { due_date: Some(day), late_fee_fen: 0 } => Message::new(
                format!("该交通违法已处理,待缴纳罚款;{day}前缴纳不加收滞纳金"),
                format!("This violation has been decided and awaits payment; pay by {day} to owe no late fee"),
            ),
            Self::AwaitingPayment { due_date: Some(day), late_fee_fen } => Message::new(
                format!("该交通违法已处理,待缴纳罚款;已过{day}的缴款期限,加收滞纳金{}元", yuan(*late_fee_fen)),
                format!("This violation has been decided and awaits payment; it was due by {day}, so a late fee of {} yuan is added", yuan(*late_fee_fen)),
            ),
            Self::AwaitingPayment { due_date: None, late_fee_fen: _ } => Message::new(
                "该交通违法已处理,待缴纳罚款",
                "This violation has been decided and awaits payment",
            ),
            Self::VehicleNotBound => Message::new(
                "该车辆不在您名下且未绑定,请到交通违法处理窗口处理(无需提前绑定)",
                "This vehicle is neither yours nor bound to you; handle it at a traffic-violation window (no binding needed there)",
            ),
            Self::OccurredBeforeBinding { effective } => Message::new(
                format!(
                    "只能处理自绑定之日({})起发生的交通违法,此前的请到窗口处理",
                    effective.text_zh()
                ),
                format!(
                    "Only violations from the binding date ({}) on can be handled online; earlier ones go to a window",
                    effective.text_en()
                ),
            ),
            Self::NotDeviceRecorded => Message::new(
                "非本人机动车只能查询处理交通技术监控设备记录的违法",
                "For a vehicle not in your name only camera-recorded violations can be seen and handled",
            ),
            Self::OnSiteTicket => Message::new(
                "现场处罚的违法不能网上处理,请到窗口办理",
                "On-site tickets cannot be handled online; please go to a window",
            ),
            Self::UnscoredNotForBinder => Message::new(
                "绑定人只能处理有记分的交通违法,无记分违法请由车主处理或到窗口办理",
                "A binder handles only violations that carry points; the owner or a window handles unscored ones",
            ),
            Self::VehicleNotSelfService { .. } => Message::new(
                "网上只能处理个人名下小型汽车的交通违法;单位车辆、出租车、租赁车辆等请到交通违法处理窗口处理",
                "Only small cars registered to individuals can be handled online; unit vehicles, taxis and rental cars are handled at a window",
            ),
            Self::FineAboveOnlineLimit { limit_fen, fine_fen } => Message::new(
                format!("罚款{}元超过网上处理上限{}元,请到窗口办理", yuan(*fine_fen), yuan(*limit_fen)),
                format!("The fine of ¥{} is above the online limit of ¥{}; please go to a window", yuan(*fine_fen), yuan(*limit_fen)),
            ),
            Self::NoDrivingLicence => Message::new(
                "您没有驾驶证信息,不能处理交通违法",
                "You have no driving licence on record, so you cannot handle violations",
            ),
            Self::LicenceNotValid { status } => Message::new(
                format!("驾驶证状态为“{}”,不能网上处理,请到窗口办理", status.name_zh()),
                format!("Your driving licence is {}; it cannot be used online, please go to a window", status.name_en().to_ascii_lowercase()),
            ),
            Self::PointsCeilingReached { current, points, ceiling } => Message::new(
                format!("本记分周期已记{current}分,再记{points}分将达到{ceiling}分,请到窗口处理"),
                format!("You have {current} points this cycle; {points} more would reach {ceiling}, so handle it at a window"),
            ),
            Self::LicenceClassNotCovering { class } => Message::new(
                format!("您的准驾车型{}不包含该车型,只能查询不能处理", class.code()),
                format!("Your licence class {} does not cover this vehicle: you may view but not handle", class.code()),
            ),
            Self::KioskNeedsBinding => Message::new(
                "在自助终端处理交通违法需事先进行人车绑定",
                "Handling violations at a self-service kiosk requires binding the vehicle first",
            ),
            Self::BindingAlreadyRemoved => Message::new("该绑定已解除", "This binding has already been removed"),
            Self::NotAllowedToRemoveBinding => Message::new(
                "只有绑定人、车主或窗口民警可以解除绑定",
                "Only the binder, the vehicle's owner or a window officer can remove a binding",
            ),
        }
    }
}

impl Refusal {
    /// One example of every refusal, for documentation and exhaustive tests.
    pub fn examples() -> Vec<Refusal> {
        use crate::domain::{BindingMethod, Channel, LicenceClass, LicenceStatus};
        let day = CstDate::from_ymd(2026, 9, 1).unwrap_or(CstDate::EPOCH);
        vec![
            Self::FeatureNotAvailableInCity {
                city_zh: "示例市".into(),
                city_en: "Sample city".into(),
            },
            Self::BindingChannelNotSupported {
                channel: Channel::Kiosk,
            },
            Self::MethodNotOnChannel {
                method: BindingMethod::Qr,
                channel: Channel::Window,
            },
            Self::VehicleIsYourOwn,
            Self::VehicleNotIndividual {
                owner_kind: OwnerKind::Unit,
            },
            Self::PlateTypeNotBindable {
                plate_type: PlateType::LargeCar,
            },
            Self::UseNatureNotBindable {
                use_nature: UseNature::Taxi,
            },
            Self::AlreadyBound,
            Self::UserBindingLimitReached {
                limit: 3,
                current: 3,
            },
            Self::VehicleBinderLimitReached {
                limit: 3,
                current: 3,
            },
            Self::DailyApplicationCapReached {
                limit: 1,
                current: 1,
            },
            Self::YearlyApplicationCapReached {
                limit: 5,
                current: 5,
            },
            Self::WindowDocumentsNotChecked {
                missing: vec![Document::VehicleLicence],
            },
            Self::RealPersonVerificationRequired,
            Self::AlreadyHandled,
            Self::AwaitingPayment {
                due_date: Some(day),
                late_fee_fen: 600,
            },
            Self::VehicleNotBound,
            Self::OccurredBeforeBinding { effective: day },
            Self::NotDeviceRecorded,
            Self::OnSiteTicket,
            Self::UnscoredNotForBinder,
            Self::VehicleNotSelfService {
                plate_type: PlateType::SmallCar,
                owner_kind: OwnerKind::Individual,
                use_nature: UseNature::Rental,
            },
            Self::FineAboveOnlineLimit {
                limit_fen: 20_000,
                fine_fen: 50_000,
            },
            Self::NoDrivingLicence,
            Self::LicenceNotValid {
                status: LicenceStatus::Suspended,
            },
            Self::PointsCeilingReached {
                current: 9,
                points: 3,
                ceiling: 12,
            },
            Self::LicenceClassNotCovering {
                class: LicenceClass::E,
            },
            Self::KioskNeedsBinding,
            Self::BindingAlreadyRemoved,
            Self::NotAllowedToRemoveBinding,
        ]
    }
}
