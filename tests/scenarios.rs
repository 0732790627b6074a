//! Every rule sentence of the article as at least one named case. Each case quotes the sentence it proves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use renche::domain::*;
use renche::*;
use support::*;

/// Runs a binding check and returns the reason codes.
fn bind_codes(call: &BindingCall) -> Vec<&'static str> {
    let a = rules().check_binding(call);
    assert_eq!(a.allowed, a.reasons.is_empty());
    codes(&a.reasons)
}

#[test]
fn article_binding_a_personal_small_car_is_allowed() {
    // 绑定后,可以处理自绑定之日起发生的…交通违法行为 — binding itself first has to pass.
    let call = bind_call(person("p1"), small_car("v1", "owner"));
    let a = rules().check_binding(&call);
    assert!(a.allowed, "{:?}", a.reasons);
    assert_eq!(a.policy_version, Policy::default_policy().version);
}

#[test]
fn article_rule_1_only_individual_vehicles() {
    // (1)只允许绑定个人名下机动车
    let mut v = small_car("v1", "owner");
    v.owner_kind = OwnerKind::Unit;
    v.owner_id = None;
    assert_eq!(
        bind_codes(&bind_call(person("p1"), v)),
        ["VEHICLE_NOT_INDIVIDUAL_OWNED"]
    );
}

#[test]
fn article_rule_1_only_small_cars_and_small_nevs() {
    // 且被绑定车辆必须是小型汽车或小型新能源汽车
    assert!(bind_codes(&bind_call(person("p1"), small_nev("v1", "o"))).is_empty());
    let mut large = small_car("v1", "o");
    large.plate_type = PlateType::LargeCar;
    assert_eq!(
        bind_codes(&bind_call(person("p1"), large)),
        ["PLATE_TYPE_NOT_BINDABLE"]
    );
    let mut large_nev = small_car("v1", "o");
    large_nev.plate_type = PlateType::LargeNewEnergy;
    large_nev.plate_number = PlateNumber::parse("粤S12345D", PlateType::LargeNewEnergy).unwrap();
    assert_eq!(
        bind_codes(&bind_call(person("p1"), large_nev)),
        ["PLATE_TYPE_NOT_BINDABLE"]
    );
}

#[test]
fn article_rule_2_at_most_three_vehicles_per_user() {
    // (2)用户同时绑定的非本人机动车不超过3辆(包括3辆)
    let mut call = bind_call(person("p1"), small_car("v4", "o"));
    call.binder_bindings = vec![
        binding("p1", "v1", "2026-08-01T00:00:00Z"),
        binding("p1", "v2", "2026-08-01T00:00:00Z"),
    ];
    assert!(
        bind_codes(&call).is_empty(),
        "the third is allowed (3 included)"
    );
    call.binder_bindings
        .push(binding("p1", "v3", "2026-08-01T00:00:00Z"));
    let a = rules().check_binding(&call);
    assert_eq!(codes(&a.reasons), ["USER_BINDING_LIMIT_REACHED"]);
    let r = &a.reasons[0];
    assert_eq!(
        serde_json::to_value(&r.params).unwrap(),
        serde_json::json!({"limit": 3, "current": 3})
    );
    assert!(r.message.zh.contains("最多同时绑定3辆"));
    assert!(r.message.en.contains("at most 3"));
}

#[test]
fn article_rule_2_removed_bindings_do_not_count() {
    // FAQ 3: 解除后可重新申请备案其他机动车
    let mut call = bind_call(person("p1"), small_car("v4", "o"));
    call.binder_bindings = ["v1", "v2", "v3"]
        .iter()
        .map(|v| binding("p1", v, "2026-08-01T00:00:00Z"))
        .collect();
    call.binder_bindings[0].removed_at = Some(ts("2026-08-20T00:00:00Z"));
    assert!(bind_codes(&call).is_empty());
}

#[test]
fn article_rule_3_at_most_three_binders_per_vehicle_owner_not_counted() {
    // (3)同一机动车最多同时被3个(包括3个)非车主用户绑定
    let mut call = bind_call(person("p4"), small_car("v1", "owner"));
    call.vehicle_bindings = ["p1", "p2"]
        .iter()
        .map(|p| binding(p, "v1", "2026-08-01T00:00:00Z"))
        .collect();
    assert!(bind_codes(&call).is_empty());
    call.vehicle_bindings
        .push(binding("p3", "v1", "2026-08-01T00:00:00Z"));
    assert_eq!(bind_codes(&call), ["VEHICLE_BINDER_LIMIT_REACHED"]);
}

#[test]
fn article_every_failing_rule_is_reported_not_the_first() {
    // A unit-owned taxi large car for a user at the limit: all four reasons at once.
    let mut v = small_car("v9", "o");
    v.plate_type = PlateType::LargeCar;
    v.owner_kind = OwnerKind::Unit;
    v.use_nature = UseNature::Taxi;
    let mut call = bind_call(person("p1"), v);
    call.binder_bindings = ["v1", "v2", "v3"]
        .iter()
        .map(|x| binding("p1", x, "2026-08-01T00:00:00Z"))
        .collect();
    assert_eq!(
        bind_codes(&call),
        [
            "VEHICLE_NOT_INDIVIDUAL_OWNED",
            "PLATE_TYPE_NOT_BINDABLE",
            "USE_NATURE_NOT_BINDABLE",
            "USER_BINDING_LIMIT_REACHED"
        ]
    );
}

#[test]
fn article_faq_5_taxis_and_rentals_are_not_bindable() {
    // 驾驶单位车辆、出租车辆、租赁车辆等发生的交通违法,驾驶人可前往交通违法处理窗口处理
    for nature in [UseNature::Taxi, UseNature::Rental] {
        let mut v = small_car("v1", "o");
        v.use_nature = nature;
        let a = rules().check_binding(&bind_call(person("p1"), v));
        assert_eq!(codes(&a.reasons), ["USE_NATURE_NOT_BINDABLE"]);
        assert!(a.reasons[0].message.zh.contains("窗口"));
    }
}

#[test]
fn article_both_methods_and_the_window() {
    // 用户可以选择"扫码绑定"或"短信验证绑定"两种方式 / 可自主选择在交通违法处理窗口或者通过"交管12123"绑定
    for method in [BindingMethod::Qr, BindingMethod::Sms] {
        let mut call = bind_call(person("p1"), small_car("v1", "o"));
        call.method = method;
        assert!(bind_codes(&call).is_empty());
        call.channel = Channel::Window;
        assert_eq!(bind_codes(&call), ["BINDING_METHOD_NOT_ON_CHANNEL"]);
    }
    let mut call = bind_call(person("p1"), small_car("v1", "o"));
    call.method = BindingMethod::Window;
    call.channel = Channel::Window;
    call.binder.identity_verified = false;
    assert_eq!(bind_codes(&call), ["WINDOW_DOCUMENTS_NOT_CHECKED"]);
    call.documents_checked = Document::ALL.to_vec();
    assert!(
        bind_codes(&call).is_empty(),
        "an officer checks originals instead of face verification"
    );
    // A kiosk does not make bindings.
    let mut call = bind_call(person("p1"), small_car("v1", "o"));
    call.channel = Channel::Kiosk;
    assert_eq!(bind_codes(&call), ["BINDING_CHANNEL_NOT_SUPPORTED"]);
}

#[test]
fn article_real_person_verification_before_commit() {
    // 对于已启用公安部可信身份认证的,用户进行"实人认证","实人认证"通过的,绑定申请提交成功
    let mut call = bind_call(person("p1"), small_car("v1", "o"));
    call.binder.identity_verified = false;
    call.stage = Stage::Precheck;
    let a = rules().check_binding(&call);
    assert!(a.allowed);
    assert_eq!(a.next_steps, [NextStep::RealPersonVerification]);
    call.stage = Stage::Commit;
    assert_eq!(bind_codes(&call), ["REAL_PERSON_VERIFICATION_REQUIRED"]);
    let off = rules_with(r#"{"extends":"default","requireRealPersonVerification":false}"#);
    assert!(off.check_binding(&call).allowed);
}

#[test]
fn article_own_vehicle_needs_no_binding() {
    assert_eq!(
        bind_codes(&bind_call(person("p1"), small_car("v1", "p1"))),
        ["VEHICLE_IS_YOUR_OWN"]
    );
}

#[test]
fn article_already_bound_is_refused_once() {
    let mut call = bind_call(person("p1"), small_car("v1", "o"));
    call.binder_bindings = vec![binding("p1", "v1", "2026-08-01T00:00:00Z")];
    call.vehicle_bindings = call.binder_bindings.clone();
    assert_eq!(bind_codes(&call), ["ALREADY_BOUND"]);
}

#[test]
fn article_faq_8_availability_is_per_city() {
    // 已有280多个城市…开通了备案非本人名下机动车的功能,其他地市也将于年内陆续开通
    let off = Rules::new(
        Policy::parse_with_base(
            include_str!("../policies/cities/533300.json"),
            &Policy::default_policy(),
        )
        .unwrap(),
    );
    let a = off.check_binding(&bind_call(person("p1"), small_car("v1", "o")));
    assert_eq!(codes(&a.reasons), ["FEATURE_NOT_AVAILABLE_IN_CITY"]);
    // Binding at a window does not depend on the online switch.
    let mut call = bind_call(person("p1"), small_car("v1", "o"));
    call.method = BindingMethod::Window;
    call.channel = Channel::Window;
    call.documents_checked = Document::ALL.to_vec();
    assert!(off.check_binding(&call).allowed);
}

#[test]
fn application_caps_are_off_by_default_and_counted_in_china_time() {
    let mut call = bind_call(person("p1"), small_car("v1", "o"));
    call.applications = vec![ts("2026-09-01T00:30:00Z"); 6];
    assert!(bind_codes(&call).is_empty());
    let capped = rules_with(r#"{"extends":"default","applicationCaps":{"perDay":1,"perYear":5}}"#);
    let codes_now = codes(&capped.check_binding(&call).reasons);
    assert_eq!(
        codes_now,
        [
            "DAILY_APPLICATION_CAP_REACHED",
            "YEARLY_APPLICATION_CAP_REACHED"
        ]
    );
    // 15:59Z on 31 August is still 31 August in Beijing: not today.
    call.applications = vec![ts("2026-08-31T15:59:00Z")];
    assert!(capped.check_binding(&call).allowed);
    call.applications = vec![ts("2026-08-31T16:00:00Z")];
    assert_eq!(
        codes(&capped.check_binding(&call).reasons),
        ["DAILY_APPLICATION_CAP_REACHED"]
    );
}

// ---- Violations ----

fn bound_setup() -> (PersonFacts, VehicleFacts, BindingFacts) {
    (
        person("p1"),
        small_car("v1", "owner"),
        binding("p1", "v1", "2026-09-01T02:00:00Z"),
    )
}

#[test]
fn article_binder_handles_scored_fines_up_to_200_online() {
    // 可以处理自绑定之日起发生的有记分且单笔罚款金额不超过200元的交通违法行为
    let (p, v, b) = bound_setup();
    let r = route_one(
        &rules(),
        &p,
        &v,
        Some(&b),
        &violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200),
        Channel::App,
    );
    assert_eq!(r.route, Route::Online, "{:?}", r.reasons);
    assert_eq!(r.owed_fen.value(), 20_000);
    let r = route_one(
        &rules(),
        &p,
        &v,
        Some(&b),
        &violation("x", "v1", "2026-09-10T00:00:00Z", 3, 201),
        Channel::App,
    );
    assert_eq!(
        (r.route, codes(&r.reasons)),
        (Route::Window, vec!["FINE_ABOVE_ONLINE_LIMIT"])
    );
    assert_eq!(
        r.documents,
        [
            Document::DrivingLicence,
            Document::IdCard,
            Document::VehicleLicence
        ]
    );
}

#[test]
fn article_binder_does_not_handle_unscored() {
    // 有记分: a binder's unscored violation goes elsewhere (knob: binderHandlesUnscored)
    let (p, v, b) = bound_setup();
    let x = violation("x", "v1", "2026-09-10T00:00:00Z", 0, 100);
    let r = route_one(&rules(), &p, &v, Some(&b), &x, Channel::App);
    assert_eq!(codes(&r.reasons), ["UNSCORED_NOT_FOR_BINDER"]);
    let lenient = rules_with(r#"{"extends":"default","binderHandlesUnscored":true}"#);
    assert_eq!(
        route_one(&lenient, &p, &v, Some(&b), &x, Channel::App).route,
        Route::Online
    );
    // The owner handles unscored ones of their own car.
    let own = route_one(&rules(), &person("owner"), &v, None, &x, Channel::App);
    assert_eq!(own.route, Route::Online);
}

#[test]
fn article_from_the_binding_date_in_china_time() {
    // 自绑定之日起: bound at 10:00 Beijing time on 1 September; a violation at 08:00 that day counts.
    let (p, v, b) = bound_setup();
    let same_day = violation("x", "v1", "2026-09-01T00:00:00Z", 3, 200); // 08:00 CST
    assert_eq!(
        route_one(&rules(), &p, &v, Some(&b), &same_day, Channel::App).route,
        Route::Online
    );
    let day_before = violation("y", "v1", "2026-08-31T15:59:59Z", 3, 200); // 23:59:59 CST on 31 Aug
    let r = route_one(&rules(), &p, &v, Some(&b), &day_before, Channel::App);
    assert_eq!(codes(&r.reasons), ["OCCURRED_BEFORE_BINDING"]);
    assert_eq!(
        r.reasons[0].params.get("effective"),
        Some(&message::Param::Text("2026-09-01".into()))
    );
    let instant = rules_with(r#"{"extends":"default","bindingEffectiveFrom":"instant"}"#);
    assert_eq!(
        route_one(&instant, &p, &v, Some(&b), &same_day, Channel::App).route,
        Route::Window
    );
}

#[test]
fn article_faq_6_unbound_non_owned_goes_to_the_window() {
    // 驾驶未备案到本人名下的非本人机动车,有交通违法行为后…可前往交通违法处理窗口处理
    let x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200);
    let r = route_one(
        &rules(),
        &person("p1"),
        &small_car("v1", "owner"),
        None,
        &x,
        Channel::App,
    );
    assert_eq!(
        (r.route, codes(&r.reasons)),
        (Route::Window, vec!["VEHICLE_NOT_BOUND"])
    );
}

#[test]
fn article_faq_7_window_needs_no_binding_but_originals() {
    // 在…业务窗口处理…不需要提前备案,…审核驾驶人提供的本人驾驶证、身份证和机动车行驶证等原件材料
    let x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 500);
    let r = route_one(
        &rules(),
        &person("p1"),
        &small_car("v1", "owner"),
        None,
        &x,
        Channel::Window,
    );
    assert_eq!(
        (r.route, r.reasons.len()),
        (Route::Window, 0),
        "at the window it is handled there and then: {:?}",
        r.reasons
    );
    assert_eq!(
        r.documents,
        [
            Document::DrivingLicence,
            Document::IdCard,
            Document::VehicleLicence
        ],
        "the originals FAQ 7 names, for a vehicle the person neither owns nor has bound"
    );
    // No binding rule applies there: a binder's violation from before the binding, unscored, is handled too.
    let (p, v, b) = bound_setup();
    let early = violation("early", "v1", "2020-01-01T00:00:00Z", 0, 100);
    let app = route_one(&rules(), &p, &v, Some(&b), &early, Channel::App);
    assert_eq!(app.route, Route::Window);
    assert!(!app.reasons.is_empty());
    let here = route_one(&rules(), &p, &v, Some(&b), &early, Channel::Window);
    assert_eq!((here.route, here.reasons.len()), (Route::Window, 0));
    assert_eq!(here.documents, [Document::DrivingLicence, Document::IdCard]);
    // The owner brings no vehicle licence either; an invalid licence still stops it, with its reason.
    let mut owner = person("owner");
    let own = route_one(&rules(), &owner, &v, None, &x, Channel::Window);
    assert_eq!(own.documents, [Document::DrivingLicence, Document::IdCard]);
    owner.licence.as_mut().unwrap().status = LicenceStatus::Revoked;
    let stopped = route_one(&rules(), &owner, &v, None, &x, Channel::Window);
    assert_eq!(codes(&stopped.reasons), ["LICENCE_NOT_VALID"]);
}

#[test]
fn article_faq_5_unit_taxi_rental_go_to_the_window() {
    // 通过"交管12123"APP只能处理个人名下小型汽车的交通违法行为
    let x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200);
    for (kind, nature) in [
        (OwnerKind::Unit, UseNature::NonCommercial),
        (OwnerKind::Individual, UseNature::Taxi),
        (OwnerKind::Individual, UseNature::Rental),
    ] {
        let mut v = small_car("v1", "p1");
        v.owner_kind = kind;
        v.use_nature = nature;
        let r = route_one(&rules(), &person("p1"), &v, None, &x, Channel::App);
        assert_eq!(
            (r.route, codes(&r.reasons)),
            (Route::Window, vec!["VEHICLE_NOT_SELF_SERVICE"])
        );
    }
}

#[test]
fn non_owner_sees_only_device_recorded_violations() {
    let (p, v, b) = bound_setup();
    let mut x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200);
    x.source = ViolationSource::OnSite;
    assert_eq!(
        route_one(&rules(), &p, &v, Some(&b), &x, Channel::App).route,
        Route::NotTheirs
    );
    let own = route_one(&rules(), &person("owner"), &v, None, &x, Channel::App);
    assert_eq!(
        (own.route, codes(&own.reasons)),
        (Route::Window, vec!["ON_SITE_TICKET"])
    );
}

#[test]
fn licence_status_points_and_class() {
    let (mut p, v, b) = bound_setup();
    let x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200);
    p.licence.as_mut().unwrap().points = 9;
    let r = route_one(&rules(), &p, &v, Some(&b), &x, Channel::App);
    assert_eq!(codes(&r.reasons), ["POINTS_CEILING_REACHED"]);
    p.licence.as_mut().unwrap().points = 8;
    assert_eq!(
        route_one(&rules(), &p, &v, Some(&b), &x, Channel::App).route,
        Route::Online
    );
    // Twelve points in the cycle stop self-service whatever the record's status says; at the window the
    // officer still handles what is left with the driver present.
    p.licence.as_mut().unwrap().points = 12;
    let full = route_one(&rules(), &p, &v, Some(&b), &x, Channel::App);
    assert_eq!(
        codes(&full.reasons),
        ["LICENCE_NOT_VALID", "POINTS_CEILING_REACHED"]
    );
    assert_eq!(full.reasons[0].params["status"], "full_points".into());
    let at_window = route_one(&rules(), &p, &v, None, &x, Channel::Window);
    assert!(
        !codes(&at_window.reasons).contains(&"LICENCE_NOT_VALID"),
        "{:?}",
        codes(&at_window.reasons)
    );
    p.licence.as_mut().unwrap().points = 8;
    p.licence.as_mut().unwrap().status = LicenceStatus::Suspended;
    assert_eq!(
        codes(&route_one(&rules(), &p, &v, Some(&b), &x, Channel::App).reasons),
        ["LICENCE_NOT_VALID"]
    );
    p.licence = Some(LicenceFacts {
        class: LicenceClass::E,
        status: LicenceStatus::Normal,
        points: 0,
    });
    let r = route_one(&rules(), &p, &v, Some(&b), &x, Channel::App);
    assert_eq!(
        (r.route, codes(&r.reasons)),
        (Route::ViewOnly, vec!["LICENCE_CLASS_NOT_COVERING"])
    );
    p.licence = None;
    assert_eq!(
        route_one(&rules(), &p, &v, Some(&b), &x, Channel::App).route,
        Route::ViewOnly
    );
}

#[test]
fn dongguan_kiosk_requires_binding() {
    // 9月1日起,东莞司机在自助终端处理交通违法,需要事先进行人车绑定
    let base = Policy::default_policy();
    let versions = [
        include_str!("../policies/cities/441900.json"),
        include_str!("../policies/cities/441900-2026-09-01.json"),
    ]
    .map(|text| Policy::parse_with_base(text, &base).unwrap());
    let schedule = PolicySchedule::new(versions.to_vec()).unwrap();
    let x = violation("x", "v1", "2026-08-20T00:00:00Z", 3, 200);
    let v = small_car("v1", "owner");
    // A second before midnight on 31 August (China time) a kiosk still takes an unbound vehicle.
    let eve = Rules::new(schedule.in_force(ts("2026-08-31T15:59:59Z")).clone());
    assert_eq!(
        route_one(&eve, &person("p1"), &v, None, &x, Channel::Kiosk).route,
        Route::Online
    );
    let dg = Rules::new(schedule.in_force(ts("2026-08-31T16:00:00Z")).clone());
    let x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200);
    let r = route_one(&dg, &person("p1"), &v, None, &x, Channel::Kiosk);
    assert_eq!(
        (r.route, codes(&r.reasons)),
        (Route::Window, vec!["KIOSK_NEEDS_BINDING"])
    );
    let b = binding("p1", "v1", "2026-09-01T02:00:00Z");
    assert_eq!(
        route_one(&dg, &person("p1"), &v, Some(&b), &x, Channel::Kiosk).route,
        Route::Online
    );
    // Where kiosks do not require binding, the kiosk takes an unbound vehicle.
    assert_eq!(
        route_one(&rules(), &person("p1"), &v, None, &x, Channel::Kiosk).route,
        Route::Online
    );
}

#[test]
fn late_fee_three_percent_a_day_after_fifteen_days_capped_at_the_fine() {
    let r = rules();
    let fine = Fen::from_yuan(200);
    let decided = ts("2026-09-01T02:00:00Z");
    assert_eq!(
        r.late_fee(fine, decided, ts("2026-09-16T02:00:00Z"))
            .value(),
        0,
        "day 15 is still on time"
    );
    assert_eq!(
        r.late_fee(fine, decided, ts("2026-09-17T02:00:00Z"))
            .value(),
        600,
        "day 16: 3% of 200 yuan"
    );
    assert_eq!(
        r.late_fee(fine, decided, ts("2026-10-01T02:00:00Z"))
            .value(),
        9_000
    );
    assert_eq!(
        r.late_fee(fine, decided, ts("2027-09-01T02:00:00Z"))
            .value(),
        20_000,
        "never above the fine"
    );
    let (p, v, _) = bound_setup();
    let mut x = violation("x", "v1", "2026-09-10T00:00:00Z", 3, 200);
    x.state = ViolationState::Handled;
    x.decided_at = Some(decided);
    let route = route_one(&r, &person("owner"), &v, None, &x, Channel::App);
    assert_eq!(route.owed_fen.value(), 20_000 + 20_000 * 3 * 15 / 100);
    assert_eq!(route.due_date.unwrap().to_string(), "2026-09-16");
    // Decided and unpaid: payable online, said as such, with the due date and the late fee.
    assert_eq!(route.route, Route::Online);
    assert_eq!(codes(&route.reasons), ["VIOLATION_AWAITING_PAYMENT"]);
    assert_eq!(
        serde_json::to_value(&route.reasons[0].params).unwrap(),
        serde_json::json!({"dueDate": "2026-09-16", "lateFeeFen": 9000})
    );
    assert!(route.reasons[0].message.zh.contains("2026-09-16"));
    x.state = ViolationState::Paid;
    assert_eq!(
        route_one(&r, &p, &v, None, &x, Channel::App)
            .owed_fen
            .value(),
        0
    );
}

#[test]
fn article_faq_3_removal_by_binder_owner_or_window() {
    // 驾驶人可通过"交管12123"手机APP或公安交通管理部门业务窗口随时解除
    let r = rules();
    let mut call = UnbindCall {
        actor_id: "p1".into(),
        actor_is_officer: false,
        binding: binding("p1", "v1", "2026-09-01T02:00:00Z"),
        vehicle: small_car("v1", "owner"),
        channel: Channel::App,
        now: ts("2026-09-02T00:00:00Z"),
    };
    let a = r.check_unbind(&call);
    assert!(a.allowed && a.role == ActorRole::Binder);
    call.actor_id = "owner".into();
    assert_eq!(r.check_unbind(&call).role, ActorRole::Owner);
    call.actor_id = "stranger".into();
    assert_eq!(
        codes(&r.check_unbind(&call).reasons),
        ["NOT_ALLOWED_TO_REMOVE_BINDING"]
    );
    call.actor_id = "officer".into();
    call.actor_is_officer = true;
    assert_eq!(
        codes(&r.check_unbind(&call).reasons),
        ["NOT_ALLOWED_TO_REMOVE_BINDING"],
        "officers act at the window"
    );
    call.channel = Channel::Window;
    assert!(r.check_unbind(&call).allowed);
    call.binding.removed_at = Some(ts("2026-09-01T05:00:00Z"));
    assert_eq!(
        codes(&r.check_unbind(&call).reasons),
        ["BINDING_ALREADY_REMOVED"]
    );
}

#[test]
fn every_refusal_has_a_stable_code_and_both_messages() {
    let mut seen = std::collections::BTreeSet::new();
    for r in Refusal::examples() {
        let reason = Reason::of(&r);
        assert!(
            reason
                .code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_'),
            "{}",
            reason.code
        );
        assert!(seen.insert(reason.code), "duplicate code {}", reason.code);
        assert!(!reason.message.zh.is_empty() && !reason.message.en.is_empty());
        assert!(
            !reason.message.zh.is_ascii(),
            "zh message of {} is not Chinese",
            reason.code
        );
    }
    assert_eq!(seen.len(), 30);
}

#[test]
fn wire_format_is_camel_case_and_refuses_unknown_fields() {
    let json = serde_json::json!({
        "binder": {"id": "p1", "identityVerified": true, "licence": {"class": "C1", "status": "normal", "points": 0}},
        "vehicle": {"id": "v1", "plateType": "02", "plateNumber": "粤s·12345", "ownerKind": "individual", "useNature": "A", "ownerId": "o"},
        "method": "qr", "channel": "app", "now": "2026-09-01T07:00:00Z"
    });
    let call: BindingCall = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(call.vehicle.plate_number.as_str(), "粤S12345");
    let answer = serde_json::to_value(rules().check_binding(&call)).unwrap();
    assert_eq!(answer["allowed"], true);
    assert!(answer.get("policyVersion").is_some());
    let mut bad = json.clone();
    bad["extra"] = serde_json::json!(1);
    assert!(serde_json::from_value::<BindingCall>(bad)
        .unwrap_err()
        .to_string()
        .contains("extra"));
    let mut bad = json;
    bad["vehicle"]["plateNumber"] = serde_json::json!("粤S1234");
    assert!(serde_json::from_value::<BindingCall>(bad)
        .unwrap_err()
        .to_string()
        .contains("plateNumber"));
}
