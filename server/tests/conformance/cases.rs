//! What every store must do. Each case gets a fresh, migrated, empty store.

use crate::support::*;
use crate::support::{read, write};
use futures::future::join_all;
use renche::domain::{
    ActorRole, BindingMethod, Channel, Fen, Points, Relationship, ViolationSource, ViolationState,
};
use renche::Timestamp;
use renche_server::error::Verdict;
use renche_server::flows::binding::{commit as commit_binding, BindingCommit};
use renche_server::flows::decision::ClientExpectation;
use renche_server::policies::Policies;
use renche_server::store::*;
use std::sync::Arc;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0.millis() + minutes * 60_000)
}

pub async fn people_round_trip(store: Arc<dyn Store>) {
    let id = write(&store, |tx| tx.insert_person(&new_person(1)))
        .await
        .unwrap();
    let (by_id, by_phone, by_rid, missing) = read(&store, move |tx| {
        Ok((
            tx.person(id)?,
            tx.person_by_phone(phone(1).as_str())?,
            tx.person_by_resident_id(resident_id(1).as_str())?,
            tx.person(id + 1000)?,
        ))
    })
    .await
    .unwrap();
    let p = by_id.unwrap();
    assert_eq!(p.name, "测试1");
    assert_eq!(p.phone.as_str(), phone(1).as_str());
    assert!(p.identity_verified);
    assert_eq!(p.role, Role::Person);
    assert_eq!(p.licence.as_ref().unwrap().points, 0);
    assert_eq!(by_phone.unwrap().id, id);
    assert_eq!(by_rid.unwrap().id, id);
    assert!(missing.is_none());

    // Same resident ID again: the schema refuses it as a uniqueness failure, and nothing of the job is kept.
    // (A phone on file may repeat: it is no account's, docs/decisions.md "Who is who".)
    let mut dup = new_person(2);
    dup.resident_id = resident_id(1);
    let err = write(&store, move |tx| tx.insert_person(&dup)).await;
    assert!(matches!(err, Err(StoreError::Unique(_))), "{err:?}");
    let mut same_phone = new_person(2);
    same_phone.phone = phone(1);
    let other = write(&store, move |tx| tx.insert_person(&same_phone))
        .await
        .unwrap();
    assert_ne!(other, id);

    write(&store, move |tx| {
        tx.register_person(id, "新名字", phone(3).as_str(), at(5))?;
        tx.set_identity_verified(id)?;
        tx.set_licence_points(id, 6, Some(at(0)))
    })
    .await
    .unwrap();
    let (p, n) = read(&store, move |tx| {
        Ok((tx.person(id)?.unwrap(), tx.count_people()?))
    })
    .await
    .unwrap();
    assert_eq!(p.name, "新名字");
    assert_eq!(p.phone.as_str(), phone(3).as_str());
    assert_eq!(p.registered_at, Some(at(5)));
    assert_eq!(p.licence.unwrap().points, 6);
    assert_eq!(n, 2);
}

pub async fn vehicles_round_trip(store: Arc<dyn Store>) {
    let v = write(&store, |tx| tx.insert_vehicle(&new_vehicle(7, None)))
        .await
        .unwrap();
    let owner = write(&store, |tx| {
        let mut p = new_person(500_007);
        p.phone = phone(999);
        let id = tx.insert_person(&p)?;
        tx.link_vehicles_to_owner(resident_id(500_007).as_str(), id)?;
        Ok(id)
    })
    .await
    .unwrap();
    let (row, by_plate, owned) = read(&store, move |tx| {
        Ok((
            tx.vehicle(v)?.unwrap(),
            tx.vehicle_by_plate(plate(7).plate_type(), plate(7).as_str())?,
            tx.vehicles_owned_by(owner)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(row.plate_number.as_str(), plate(7).as_str());
    assert_eq!(row.engine_suffix.as_str(), "000007");
    assert_eq!(row.city, "441900");
    assert_eq!(row.owner_person_id, Some(owner));
    assert_eq!(by_plate.unwrap().id, v);
    assert_eq!(owned.len(), 1);
    let dup = write(&store, |tx| tx.insert_vehicle(&new_vehicle(7, None))).await;
    assert!(matches!(dup, Err(StoreError::Unique(_))), "{dup:?}");
}

fn binding(binder: i64, vehicle: i64, minutes: i64) -> NewBinding {
    NewBinding {
        binder_id: binder,
        vehicle_id: vehicle,
        relationship: Relationship::parse("friend").unwrap(),
        method: BindingMethod::parse("sms").unwrap(),
        application_id: None,
        created_at: at(minutes),
    }
}

pub async fn one_active_binding_per_pair(store: Arc<dyn Store>) {
    let (p, v) = seed(&store, 1, 1).await;
    let (p, v) = (p[0], v[0]);
    let first = write(&store, move |tx| tx.insert_binding(&binding(p, v, 0)))
        .await
        .unwrap();
    let again = write(&store, move |tx| tx.insert_binding(&binding(p, v, 1))).await;
    assert!(matches!(again, Err(StoreError::Unique(_))), "{again:?}");
    write(&store, move |tx| {
        tx.remove_binding(first, at(2), p, ActorRole::parse("binder").unwrap())
    })
    .await
    .unwrap();
    let second = write(&store, move |tx| tx.insert_binding(&binding(p, v, 3)))
        .await
        .unwrap();
    let (old, active) = read(&store, move |tx| {
        Ok((
            tx.binding(first)?.unwrap(),
            tx.active_bindings_of_vehicle(v)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(old.removed_at, Some(at(2)));
    assert_eq!(old.removed_by, Some(p));
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id, second);
}

fn policies() -> Arc<Policies> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    Arc::new(Policies::load(&dir).unwrap())
}

/// Commits a binding through the real flow code in one write job; `true` when it was made.
async fn try_bind(
    store: &Arc<dyn Store>,
    policies: &Arc<Policies>,
    binder: i64,
    vehicle: i64,
) -> bool {
    let policies = Arc::clone(policies);
    write(store, move |tx| {
        let commit = BindingCommit {
            binder_id: binder,
            vehicle_id: vehicle,
            method: BindingMethod::parse("sms").unwrap(),
            relationship: Relationship::parse("friend").unwrap(),
            channel: Channel::parse("app").unwrap(),
            identity_verified: true,
            documents_checked: vec![],
            application_id: None,
            actor_id: binder,
            actor_must_be_officer: false,
            expectation: ClientExpectation::default(),
        };
        match commit_binding(tx, &policies, at(1), commit) {
            Ok(Verdict::Done(_)) => Ok(true),
            Ok(Verdict::Refused(_)) => Ok(false),
            Err(e) => Err(StoreError::Database(format!("{e:?}"))),
        }
    })
    .await
    .unwrap()
}

/// Many binders race for one vehicle, and one binder races for many vehicles: exactly three win each time.
pub async fn binding_limits_hold_under_concurrency(store: Arc<dyn Store>) {
    let policies = policies();
    let (people, vehicles) = seed(&store, 13, 13).await;
    // Twelve people at once for vehicle 0.
    let wins = join_all((1..13).map(|i| {
        let (s, pol) = (Arc::clone(&store), Arc::clone(&policies));
        let (p, v) = (people[i], vehicles[0]);
        tokio::spawn(async move { try_bind(&s, &pol, p, v).await })
    }))
    .await;
    assert_eq!(wins.iter().filter(|w| *w.as_ref().unwrap()).count(), 3);
    // Person 0 at once for vehicles 1..13.
    let wins = join_all((1..13).map(|i| {
        let (s, pol) = (Arc::clone(&store), Arc::clone(&policies));
        let (p, v) = (people[0], vehicles[i]);
        tokio::spawn(async move { try_bind(&s, &pol, p, v).await })
    }))
    .await;
    assert_eq!(wins.iter().filter(|w| *w.as_ref().unwrap()).count(), 3);
    // A criss-cross storm: everyone for everything, both lock orders in play.
    let mut tasks = Vec::new();
    for (i, &p) in people.iter().enumerate() {
        for (j, &v) in vehicles.iter().enumerate() {
            if (i + j) % 3 == 0 {
                let (s, pol) = (Arc::clone(&store), Arc::clone(&policies));
                tasks.push(tokio::spawn(async move { try_bind(&s, &pol, p, v).await }));
            }
        }
    }
    join_all(tasks).await;
    let (people2, vehicles2) = (people.clone(), vehicles.clone());
    let (per_person, per_vehicle) = read(&store, move |tx| {
        let a = people2
            .iter()
            .map(|p| tx.active_bindings_of_binder(*p).map(|b| b.len()))
            .collect::<StoreResult<Vec<_>>>()?;
        let b = vehicles2
            .iter()
            .map(|v| tx.active_bindings_of_vehicle(*v).map(|b| b.len()))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((a, b))
    })
    .await
    .unwrap();
    assert!(per_person.iter().all(|n| *n <= 3), "{per_person:?}");
    assert!(per_vehicle.iter().all(|n| *n <= 3), "{per_vehicle:?}");
    assert_eq!(per_person[0], 3);
    assert_eq!(per_vehicle[0], 3);
}

/// Read-then-write of a person's points from many jobs at once loses no update.
pub async fn licence_points_are_not_lost(store: Arc<dyn Store>) {
    let (people, _) = seed(&store, 1, 0).await;
    let p = people[0];
    let tasks = (0..12).map(|_| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, move |tx| {
                let person = tx.person(p)?.unwrap();
                let l = person.licence.unwrap();
                tx.set_licence_points(p, l.points + 1, l.cycle_start)
            })
            .await
            .unwrap()
        })
    });
    join_all(tasks).await;
    let points = read(&store, move |tx| {
        Ok(tx.person(p)?.unwrap().licence.unwrap().points)
    })
    .await
    .unwrap();
    assert_eq!(points, 12);
}

pub async fn qr_code_is_used_once(store: Arc<dyn Store>) {
    let (people, vehicles) = seed(&store, 9, 1).await;
    let (owner, v) = (people[0], vehicles[0]);
    let old = write(&store, move |tx| {
        tx.insert_qr_code(v, owner, b"old-token-hash", at(0), at(3))
    })
    .await
    .unwrap();
    let new = write(&store, move |tx| {
        tx.replace_active_qr_codes(v)?;
        tx.insert_qr_code(v, owner, b"new-token-hash", at(1), at(4))
    })
    .await
    .unwrap();
    let (o, n, none) = read(&store, |tx| {
        Ok((
            tx.qr_code_by_token_hash(b"old-token-hash")?.unwrap(),
            tx.qr_code_by_token_hash(b"new-token-hash")?.unwrap(),
            tx.qr_code_by_token_hash(b"unknown")?,
        ))
    })
    .await
    .unwrap();
    assert_eq!((o.id, o.state), (old, QrState::Replaced));
    assert_eq!((n.id, n.state, n.expires_at), (new, QrState::Active, at(4)));
    assert!(none.is_none());
    // Eight scanners at once: one redeems it.
    let wins = join_all(people[1..].iter().map(|&b| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, move |tx| {
                let qr = tx.qr_code_by_token_hash(b"new-token-hash")?.unwrap();
                if qr.state != QrState::Active {
                    return Ok(false);
                }
                tx.mark_qr_code_used(qr.id, b, at(2))?;
                Ok(true)
            })
            .await
            .unwrap()
        })
    }))
    .await;
    assert_eq!(wins.iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
    let used = read(&store, |tx| tx.qr_code_by_token_hash(b"new-token-hash"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.state, QrState::Used);
    assert!(used.used_by.is_some());
}

fn challenge(id: &str, phone: &str, plate_key: &str, minutes: i64) -> SmsChallengeRow {
    SmsChallengeRow {
        id: id.to_owned(),
        purpose: SmsPurpose::Binding,
        requester: "p:1".into(),
        phone: Some(phone.to_owned()),
        plate_key: Some(plate_key.to_owned()),
        vehicle_id: None,
        salt: vec![1, 2, 3],
        code_hash: vec![0xde, 0xad, 0xbe, 0xef],
        delivered: true,
        created_at: at(minutes),
        expires_at: at(minutes + 5),
        wrong_tries: 0,
        consumed_at: None,
    }
}

pub async fn sms_challenges(store: Arc<dyn Store>) {
    write(&store, |tx| {
        tx.insert_sms_challenge(&challenge("c1", "13800000001", "02:粤S00001", 0))?;
        tx.insert_sms_challenge(&challenge("c2", "13800000001", "02:粤S00001", 2))?;
        let mut decoy = challenge("c3", "13800000002", "02:粤S00002", 3);
        decoy.phone = None;
        decoy.delivered = false;
        tx.insert_sms_challenge(&decoy)
    })
    .await
    .unwrap();
    let counts = read(&store, |tx| {
        let phone = SmsCountKey::Phone("13800000001".into());
        let plate = SmsCountKey::Plate("02:粤S00001".into());
        let mine = SmsCountKey::RequesterPlate {
            requester: "p:1".into(),
            plate_key: "02:粤S00002".into(),
        };
        Ok((
            tx.count_sms_challenges(&phone, at(0))?,
            tx.count_sms_challenges(&phone, at(1))?,
            tx.count_sms_challenges(&plate, at(0))?,
            tx.count_sms_challenges(&mine, at(0))?,
            tx.last_sms_challenge_at(&phone)?,
            tx.last_sms_challenge_at(&SmsCountKey::Phone("13900000000".into()))?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(counts, (2, 1, 2, 1, Some(at(2)), None));
    write(&store, |tx| {
        tx.record_sms_wrong_try("c1")?;
        tx.record_sms_wrong_try("c1")?;
        tx.consume_sms_challenge("c1", at(1))?;
        // A second consumption keeps the first time.
        tx.consume_sms_challenge("c1", at(4))
    })
    .await
    .unwrap();
    let c = read(&store, |tx| tx.sms_challenge("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.wrong_tries, 2);
    assert_eq!(c.consumed_at, Some(at(1)));
    assert_eq!(c.salt, vec![1, 2, 3]);
    assert_eq!(c.purpose, SmsPurpose::Binding);
    assert!(c.delivered);
    let decoy = read(&store, |tx| tx.sms_challenge("c3"))
        .await
        .unwrap()
        .unwrap();
    assert!(decoy.phone.is_none() && !decoy.delivered);
}

/// "Count, then send if under the cap" from many jobs at once never goes over the cap.
pub async fn sms_daily_cap_holds_under_concurrency(store: Arc<dyn Store>) {
    let sent = join_all((0..10).map(|i| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, move |tx| {
                let key = SmsCountKey::Phone("13800000009".into());
                if tx.count_sms_challenges(&key, at(0))? >= 3 {
                    return Ok(false);
                }
                tx.insert_sms_challenge(&challenge(&format!("cap-{i}"), "13800000009", "k", 1))?;
                Ok(true)
            })
            .await
            .unwrap()
        })
    }))
    .await;
    assert_eq!(sent.iter().filter(|s| *s.as_ref().unwrap()).count(), 3);
}

/// The caps per session, account and address are counted in the job that would open the challenge: of 30
/// starts at once only the cap's worth pass, and a refused start (rolled back) is not counted.
pub async fn sms_caps_hold_under_concurrency(store: Arc<dyn Store>) {
    use renche_server::flows::sms::{count_request, Asker};
    let sms = renche::Policy::default_policy().sms;
    let limit = sms.per_session.per_hour;
    let passed = join_all((0..30).map(|i| {
        let s = Arc::clone(&store);
        let sms = sms.clone();
        tokio::spawn(async move {
            let asker = Asker {
                session: "one-session".into(),
                account: None,
                address: format!("192.0.2.{i}"),
            };
            renche_server::store::write(s.as_ref(), move |tx| {
                count_request(tx, &asker, SmsPurpose::Register, &sms, at(0))
            })
            .await
            .is_ok()
        })
    }))
    .await;
    let passed = passed.into_iter().filter(|p| *p.as_ref().unwrap()).count();
    assert_eq!(passed, limit as usize);
    let hour = Timestamp::from_millis(at(0).millis() - at(0).millis().rem_euclid(3_600_000));
    let counted = read(&store, move |tx| {
        tx.counter("sms-cap:session:hour:one-session", hour)
    })
    .await
    .unwrap();
    assert_eq!(counted, limit);
}

pub async fn violations(store: Arc<dyn Store>) {
    let (people, vehicles) = seed(&store, 1, 1).await;
    let (p, v) = (people[0], vehicles[0]);
    let ids = write(&store, move |tx| {
        (0..5)
            .map(|i| {
                tx.insert_violation(&NewViolation {
                    vehicle_id: v,
                    occurred_at: at(i * 10),
                    code: format!("1{i:03}"),
                    description: "违反禁令标志指示".into(),
                    place: "东莞市南城区".into(),
                    points: Points::new(3).unwrap(),
                    fine_fen: Fen::new(20_000).unwrap(),
                    source: ViolationSource::parse("device").unwrap(),
                    state: ViolationState::parse("unhandled").unwrap(),
                    decision_number: None,
                    decided_at: None,
                    created_at: at(i * 10),
                })
            })
            .collect::<StoreResult<Vec<_>>>()
    })
    .await
    .unwrap();
    let list = read(&store, move |tx| tx.violations_of_vehicle(v, 3))
        .await
        .unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].id, ids[4], "newest first");
    assert_eq!(list[2].id, ids[2]);
    let mut row = list[0].clone();
    row.state = ViolationState::parse("paid").unwrap();
    row.handled_by = Some(p);
    row.decision_number = Some("441900-0001".into());
    row.decided_at = Some(at(60));
    row.paid_at = Some(at(61));
    row.paid_fen = Some(Fen::new(20_000).unwrap());
    row.payment_ref = Some("pay-1".into());
    let id = row.id;
    write(&store, move |tx| tx.update_violation(&row))
        .await
        .unwrap();
    let back = read(&store, move |tx| tx.violation(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.state, ViolationState::parse("paid").unwrap());
    assert_eq!(back.handled_by, Some(p));
    assert_eq!(back.decision_number.as_deref(), Some("441900-0001"));
    assert_eq!(back.paid_fen, Some(Fen::new(20_000).unwrap()));
    assert_eq!(back.points, Points::new(3).unwrap());
    assert_eq!(back.description, "违反禁令标志指示");
}

pub async fn applications(store: Arc<dyn Store>) {
    let (people, vehicles) = seed(&store, 1, 1).await;
    let (p, v) = (people[0], vehicles[0]);
    let mut a = ApplicationRow {
        id: "app-1".into(),
        binder_id: p,
        vehicle_id: v,
        method: BindingMethod::parse("qr").unwrap(),
        relationship: None,
        status: ApplicationStatus::AwaitingVerification,
        verification: Some(Verification::Pending),
        note: None,
        binding_id: None,
        created_at: at(0),
        submitted_at: None,
        reviewed_by: None,
        reviewed_at: None,
        review_reason: None,
    };
    let first = a.clone();
    write(&store, move |tx| tx.insert_application(&first))
        .await
        .unwrap();
    a.status = ApplicationStatus::InReview;
    a.relationship = Some(Relationship::parse("spouse").unwrap());
    a.submitted_at = Some(at(1));
    a.note = Some("照片已上传".into());
    let second = a.clone();
    write(&store, move |tx| tx.update_application(&second))
        .await
        .unwrap();
    let (back, review, submitted) = read(&store, move |tx| {
        Ok((
            tx.application("app-1")?.unwrap(),
            tx.applications_in_review()?,
            tx.submitted_applications(p)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(back.status, ApplicationStatus::InReview);
    assert_eq!(back.relationship, a.relationship);
    assert_eq!(back.note.as_deref(), Some("照片已上传"));
    assert_eq!(review.len(), 1);
    assert_eq!(submitted, vec![("app-1".to_owned(), at(1))]);
}

pub async fn sessions_and_purge(store: Arc<dyn Store>) {
    let (people, _) = seed(&store, 1, 0).await;
    let p = people[0];
    let account = write(&store, move |tx| {
        let a = tx.insert_account(phone(1).as_str(), at(0))?;
        tx.insert_session(b"h1", Some(a), "csrf-1", at(0), at(60))?;
        tx.insert_session(b"h2", None, "csrf-2", at(0), at(5))?;
        Ok(a)
    })
    .await
    .unwrap();
    // A session's person is its account's, read with it: none before the link, the person after.
    let s = read(&store, |tx| tx.session(b"h1")).await.unwrap().unwrap();
    assert_eq!(
        (
            s.account_id,
            s.person_id,
            s.csrf_token.as_str(),
            s.expires_at
        ),
        (Some(account), None, "csrf-1", at(60))
    );
    write(&store, move |tx| tx.link_account(account, p, at(1)))
        .await
        .unwrap();
    let s = read(&store, |tx| tx.session(b"h1")).await.unwrap().unwrap();
    assert_eq!(s.person_id, Some(p));
    let (by_phone, of_person) = read(&store, move |tx| {
        Ok((
            tx.account_by_phone(phone(1).as_str())?,
            tx.account_of_person(p)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(by_phone.unwrap().verified_at, Some(at(1)));
    assert_eq!(of_person.unwrap().id, account);
    // One phone, one account; one person, one account.
    let again = write(&store, move |tx| {
        tx.insert_account(phone(1).as_str(), at(2))
    })
    .await;
    assert!(matches!(again, Err(StoreError::Unique(_))), "{again:?}");
    let second = write(&store, move |tx| {
        let b = tx.insert_account(phone(2).as_str(), at(2))?;
        tx.link_account(b, p, at(2))
    })
    .await;
    assert!(matches!(second, Err(StoreError::Unique(_))), "{second:?}");
    // A provider result is used once.
    let used = write(&store, move |tx| {
        tx.insert_verification(&renche_server::store::VerificationRow {
            id: "v1".into(),
            account_id: account,
            purpose: renche_server::store::VerificationPurpose::Account,
            resident_id: resident_id(1).as_str().to_owned(),
            name: "测试1".into(),
            application_id: None,
            provider_session: Some("s1".into()),
            provider_url: Some("/x".into()),
            status: renche_server::store::VerificationStatus::Started,
            created_at: at(0),
            finished_at: None,
        })?;
        Ok((
            tx.use_identity_result("r1", "v1", "pass", at(1))?,
            tx.use_identity_result("r1", "v1", "pass", at(2))?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(used, (true, false));
    // Unlinking ends the session's person.
    write(&store, move |tx| tx.unlink_account(account))
        .await
        .unwrap();
    let s = read(&store, |tx| tx.session(b"h1")).await.unwrap().unwrap();
    assert_eq!(s.person_id, None);
    write(&store, |tx| {
        tx.idempotency_begin("p:1", "old", b"fp", at(0), at(-10))?;
        tx.idempotency_finish("p:1", "old", 200, b"{}", at(0))?;
        tx.idempotency_begin("p:1", "new", b"fp", at(30), at(20))?;
        tx.idempotency_finish("p:1", "new", 200, b"{}", at(30))?;
        tx.bump_counter("k", at(0)).map(|_| ())
    })
    .await
    .unwrap();
    let gone = write(&store, |tx| tx.purge_expired(at(10), at(10)))
        .await
        .unwrap();
    assert_eq!(gone, 2, "one key and one session");
    let (h1, h2) = read(&store, |tx| {
        Ok((tx.session(b"h1")?.is_some(), tx.session(b"h2")?.is_some()))
    })
    .await
    .unwrap();
    assert!(h1 && !h2);
    let (old, new) = write(&store, |tx| {
        Ok((
            tx.idempotency_begin("p:1", "old", b"fp", at(31), at(21))?,
            tx.idempotency_begin("p:1", "new", b"fp", at(31), at(21))?,
        ))
    })
    .await
    .unwrap();
    assert!(matches!(old, IdempotencyBegin::Started), "purged: {old:?}");
    assert!(
        matches!(new, IdempotencyBegin::Replay { .. }),
        "kept: {new:?}"
    );
    write(&store, |tx| tx.delete_session(b"h1")).await.unwrap();
    assert!(read(&store, |tx| tx.session(b"h1"))
        .await
        .unwrap()
        .is_none());
}

pub async fn idempotency_keys(store: Arc<dyn Store>) {
    let begin = |fp: &'static [u8], now: i64| {
        let s = Arc::clone(&store);
        async move {
            write(&s, move |tx| {
                tx.idempotency_begin("p:7", "k1", fp, at(now), at(now - 1))
            })
            .await
            .unwrap()
        }
    };
    assert!(matches!(begin(b"A", 0).await, IdempotencyBegin::Started));
    assert!(matches!(begin(b"A", 0).await, IdempotencyBegin::InFlight));
    assert!(matches!(begin(b"B", 0).await, IdempotencyBegin::Mismatch));
    // A running key older than the stale mark belongs to a crashed attempt: the retry runs.
    assert!(matches!(begin(b"A", 5).await, IdempotencyBegin::Started));
    write(&store, |tx| {
        tx.idempotency_finish("p:7", "k1", 201, b"{\"ok\":true}", at(6))
    })
    .await
    .unwrap();
    match begin(b"A", 7).await {
        IdempotencyBegin::Replay { status, body } => {
            assert_eq!(status, 201);
            assert_eq!(body, b"{\"ok\":true}");
        }
        other => panic!("{other:?}"),
    }
    // Scoped to the account: another scope may use the same key.
    let other = write(&store, |tx| {
        tx.idempotency_begin("p:8", "k1", b"A", at(0), at(-1))
    })
    .await
    .unwrap();
    assert!(matches!(other, IdempotencyBegin::Started));
    write(&store, |tx| tx.idempotency_forget("p:8", "k1"))
        .await
        .unwrap();
    let again = write(&store, |tx| {
        tx.idempotency_begin("p:8", "k1", b"C", at(1), at(0))
    })
    .await
    .unwrap();
    assert!(matches!(again, IdempotencyBegin::Started));
    // Sixteen requests with one new key at once: exactly one runs.
    let starts = join_all((0..16).map(|_| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, |tx| {
                tx.idempotency_begin("p:9", "race", b"R", at(0), at(-1))
            })
            .await
            .unwrap()
        })
    }))
    .await;
    let started = starts
        .iter()
        .filter(|s| matches!(s.as_ref().unwrap(), IdempotencyBegin::Started))
        .count();
    assert_eq!(started, 1);
}

/// The guard's one-step session read and key claim claims under the scope the session has (the person,
/// else the account, else the anonymous session), commits the claim, and claims nothing for an expired
/// session or a key already taken.
pub async fn session_claims_use_the_session_scope(store: Arc<dyn Store>) {
    use renche_server::flows::sessions::{live_with_claim, token_hash};
    let (people, _) = seed(&store, 1, 0).await;
    let p = people[0];
    let unlinked = write(&store, move |tx| {
        let linked = tx.insert_account(phone(1).as_str(), at(0))?;
        tx.link_account(linked, p, at(0))?;
        let unlinked = tx.insert_account(phone(2).as_str(), at(0))?;
        tx.insert_session(&token_hash("t-person"), Some(linked), "c", at(0), at(60))?;
        tx.insert_session(&token_hash("t-account"), Some(unlinked), "c", at(0), at(60))?;
        tx.insert_session(&token_hash("t-anonymous"), None, "c", at(0), at(60))?;
        tx.insert_session(&token_hash("t-expired"), None, "c", at(0), at(5))?;
        Ok(unlinked)
    })
    .await
    .unwrap();
    let expected = [
        ("t-person", format!("p:{p}")),
        ("t-account", format!("a:{unlinked}")),
        (
            "t-anonymous",
            format!("s:{}", hex::encode(token_hash("t-anonymous"))),
        ),
    ];
    for (token, scope) in expected {
        let claim = |fp: &'static [u8]| {
            let s = Arc::clone(&store);
            async move {
                write(&s, move |tx| live_with_claim(tx, token, "k", fp, at(10)))
                    .await
                    .unwrap()
            }
        };
        let (session, ours) = claim(b"F").await;
        assert_eq!(session.unwrap().scope(), scope);
        assert!(ours, "{token}: claimed under its own scope");
        let (session, ours) = claim(b"F").await;
        assert!(session.is_some() && !ours, "{token}: a key is claimed once");
        let found = write(&store, move |tx| {
            tx.idempotency_begin(&scope, "k", b"F", at(11), at(0))
        })
        .await
        .unwrap();
        assert!(
            matches!(found, IdempotencyBegin::InFlight),
            "{token}: {found:?}"
        );
    }
    let (session, ours) = write(&store, |tx| {
        live_with_claim(tx, "t-expired", "k", b"F", at(10))
    })
    .await
    .unwrap();
    assert!(session.is_none() && !ours);
    let scope = format!("s:{}", hex::encode(token_hash("t-expired")));
    let fresh = write(&store, move |tx| {
        tx.idempotency_begin(&scope, "k", b"F", at(11), at(0))
    })
    .await
    .unwrap();
    assert!(matches!(fresh, IdempotencyBegin::Started), "{fresh:?}");
}

/// Sixteen requests of one session with one new key at once, each through the guard's one-step session
/// read and claim: every one sees the session, exactly one claims the key, and the claim is left in flight
/// for its request (the others get the in-flight answer from the key, not a second run).
pub async fn session_claims_race(store: Arc<dyn Store>) {
    use renche_server::flows::sessions::live_with_claim;
    use renche_server::flows::sessions::token_hash;
    let (people, _) = seed(&store, 1, 0).await;
    let p = people[0];
    write(&store, move |tx| {
        let account = tx.insert_account(phone(1).as_str(), at(0))?;
        tx.link_account(account, p, at(0))?;
        tx.insert_session(&token_hash("t-race"), Some(account), "c", at(0), at(60))
    })
    .await
    .unwrap();
    let claims = join_all((0..16).map(|_| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, |tx| live_with_claim(tx, "t-race", "race", b"R", at(10)))
                .await
                .unwrap()
        })
    }))
    .await;
    let claims: Vec<_> = claims.into_iter().map(Result::unwrap).collect();
    assert!(
        claims.iter().all(|(session, _)| session.is_some()),
        "every request sees its session"
    );
    let won = claims.iter().filter(|(_, ours)| *ours).count();
    assert_eq!(won, 1, "exactly one request claims the key");
    let scope = format!("p:{p}");
    let after = write(&store, move |tx| {
        tx.idempotency_begin(&scope, "race", b"R", at(11), at(0))
    })
    .await
    .unwrap();
    assert!(matches!(after, IdempotencyBegin::InFlight), "{after:?}");
}

/// A key's answer written in the work's transaction lives and dies with that work; releasing the key
/// afterwards leaves a finished answer alone.
pub async fn idempotency_answer_commits_with_the_work(store: Arc<dyn Store>) {
    let begin = |now: i64| {
        let s = Arc::clone(&store);
        async move {
            write(&s, move |tx| {
                tx.idempotency_begin("p:3", "work", b"W", at(now), at(now - 1))
            })
            .await
            .unwrap()
        }
    };
    assert!(matches!(begin(0).await, IdempotencyBegin::Started));
    let work = |outcome: Outcome| {
        let (send, recv) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |tx: &mut dyn Tx| {
            let r = tx
                .insert_person(&new_person(50))
                .and_then(|_| tx.idempotency_finish("p:3", "work", 201, b"{\"done\":1}", at(0)));
            let _ = send.send(r);
            outcome
        });
        (job, recv)
    };
    // The work rolls back: no person, and the key is still running (not answered).
    let (job, recv) = work(Outcome::Rollback);
    store.write(job).await.unwrap();
    recv.await.unwrap().unwrap();
    assert_eq!(read(&store, |tx| tx.count_people()).await.unwrap(), 0);
    assert!(matches!(begin(0).await, IdempotencyBegin::InFlight));
    // The work commits: the person and the answer both.
    let (job, recv) = work(Outcome::Commit);
    store.write(job).await.unwrap();
    recv.await.unwrap().unwrap();
    assert_eq!(read(&store, |tx| tx.count_people()).await.unwrap(), 1);
    write(&store, |tx| tx.idempotency_forget("p:3", "work"))
        .await
        .unwrap();
    match begin(2).await {
        IdempotencyBegin::Replay { status, body } => {
            assert_eq!(status, 201);
            assert_eq!(body, b"{\"done\":1}");
        }
        other => panic!("{other:?}"),
    }
}

pub async fn rate_counters(store: Arc<dyn Store>) {
    let seen = join_all((0..20).map(|_| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, |tx| tx.bump_counter("sms-fail:p:1", at(0)))
                .await
                .unwrap()
        })
    }))
    .await;
    let mut values: Vec<u32> = seen.into_iter().map(|v| v.unwrap()).collect();
    values.sort_unstable();
    assert_eq!(values, (1..=20).collect::<Vec<_>>());
    let (now, other) = read(&store, |tx| {
        Ok((
            tx.counter("sms-fail:p:1", at(0))?,
            tx.counter("sms-fail:p:1", at(60))?,
        ))
    })
    .await
    .unwrap();
    assert_eq!((now, other), (20, 0));
}

pub async fn notifications_and_audit(store: Arc<dyn Store>) {
    let (people, _) = seed(&store, 1, 0).await;
    let p = people[0];
    write(&store, move |tx| {
        tx.insert_notification(p, "binding_created", "已绑定", "bound", at(0))?;
        tx.insert_notification(p, "binding_removed", "已解除", "removed", at(1))?;
        tx.append_audit(&AuditEntry {
            at: at(1),
            actor_id: Some(p),
            action: "binding.created",
            subject: "vehicle:1/binder:1".into(),
            detail: serde_json::json!({ "binding": 1 }),
        })
    })
    .await
    .unwrap();
    let n = read(&store, move |tx| tx.notifications_of(p, 10))
        .await
        .unwrap();
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].kind, "binding_removed", "newest first");
    assert_eq!(n[1].message_zh, "已绑定");
}

/// Instances starting together on an empty database agree on one signing key.
pub async fn server_key_is_made_once(store: Arc<dyn Store>) {
    let keys = join_all((0..6).map(|i| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, move |tx| match tx.server_key("qr-hmac")? {
                Some(k) => Ok(k),
                None => {
                    let k = vec![i; 32];
                    tx.insert_server_key("qr-hmac", &k, at(0))?;
                    Ok(k)
                }
            })
            .await
            .unwrap()
        })
    }))
    .await;
    let keys: Vec<Vec<u8>> = keys.into_iter().map(|k| k.unwrap()).collect();
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
}

/// A job that rolls back leaves nothing; a read job sees what was committed before it began.
pub async fn rollback_and_snapshot(store: Arc<dyn Store>) {
    let (send, recv) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |tx: &mut dyn Tx| {
        let _ = send.send(tx.insert_person(&new_person(42)));
        Outcome::Rollback
    });
    store.write(job).await.unwrap();
    recv.await.unwrap().unwrap();
    let n = read(&store, |tx| tx.count_people()).await.unwrap();
    assert_eq!(n, 0);
    write(&store, |tx| tx.insert_person(&new_person(43)))
        .await
        .unwrap();
    let (a, b) = read(&store, |tx| {
        Ok((tx.count_people()?, tx.person_by_phone(phone(43).as_str())?))
    })
    .await
    .unwrap();
    assert_eq!(a, 1);
    assert!(b.is_some());
}

/// Commits and removals by officers and binders, all at once over a few people and vehicles, in the lock
/// order the flows use (officer first for a commit; the binding, then person and vehicle, then the actor for
/// a removal): nothing deadlocks or fails, and the limits hold.
pub async fn commits_and_removals_interleave(store: Arc<dyn Store>) {
    let policies = policies();
    let (people, vehicles) = seed(&store, 8, 6).await;
    let officers = write(&store, |tx| {
        (100..104)
            .map(|n| {
                let mut o = new_person(n);
                o.role = Role::Officer;
                tx.insert_person(&o)
            })
            .collect::<StoreResult<Vec<_>>>()
    })
    .await
    .unwrap();
    for round in 0..4 {
        let mut tasks = Vec::new();
        for (i, &p) in people.iter().enumerate() {
            for (j, &v) in vehicles.iter().enumerate() {
                let (s, pol) = (Arc::clone(&store), Arc::clone(&policies));
                let officer = officers[(i + j + round) % officers.len()];
                tasks.push(tokio::spawn(async move {
                    let active = read(&s, move |tx| tx.active_bindings_of_binder(p))
                        .await
                        .unwrap();
                    if let Some(b) = active.iter().find(|b| b.vehicle_id == v).cloned() {
                        // Removal by an officer or by the binder.
                        let actor = if (i + j) % 2 == 0 { officer } else { p };
                        write(&s, move |tx| {
                            let Some(b) = tx.binding(b.id)? else {
                                return Ok(());
                            };
                            tx.lock_for_binding(b.binder_id, b.vehicle_id)?;
                            let _ = tx.vehicle(b.vehicle_id)?;
                            let _ = tx.person(actor)?;
                            tx.remove_binding(
                                b.id,
                                at(2),
                                actor,
                                ActorRole::parse("binder").unwrap(),
                            )
                        })
                        .await
                    } else {
                        let pol2 = Arc::clone(&pol);
                        write(&s, move |tx| {
                            let _ = tx.person(officer)?;
                            let _ = tx.person(p)?;
                            let commit = BindingCommit {
                                binder_id: p,
                                vehicle_id: v,
                                method: BindingMethod::parse("window").unwrap(),
                                relationship: Relationship::parse("friend").unwrap(),
                                channel: Channel::parse("window").unwrap(),
                                identity_verified: true,
                                documents_checked: renche::domain::Document::ALL.to_vec(),
                                application_id: None,
                                actor_id: officer,
                                actor_must_be_officer: false,
                                expectation: ClientExpectation::default(),
                            };
                            commit_binding(tx, &pol2, at(1), commit)
                                .map(|_| ())
                                .map_err(|e| StoreError::Database(format!("{e:?}")))
                        })
                        .await
                    }
                }));
            }
        }
        for t in join_all(tasks).await {
            t.unwrap().unwrap();
        }
    }
    let (people2, vehicles2) = (people.clone(), vehicles.clone());
    let counts = read(&store, move |tx| {
        let a = people2
            .iter()
            .map(|p| tx.active_bindings_of_binder(*p).map(|b| b.len()))
            .collect::<StoreResult<Vec<_>>>()?;
        let b = vehicles2
            .iter()
            .map(|v| tx.active_bindings_of_vehicle(*v).map(|b| b.len()))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((a, b))
    })
    .await
    .unwrap();
    assert!(
        counts.0.iter().chain(counts.1.iter()).all(|n| *n <= 3),
        "{counts:?}"
    );
}

pub async fn notices_read_and_sms_outbox(store: Arc<dyn Store>) {
    let (people, _) = seed(&store, 2, 0).await;
    let (p, q) = (people[0], people[1]);
    write(&store, move |tx| {
        tx.insert_notification(p, "binding_created", "已绑定", "bound", at(0))?;
        tx.insert_notification(p, "binding_removed", "已解除", "removed", at(1))?;
        tx.insert_notification(q, "binding_created", "已绑定", "bound", at(1))
    })
    .await
    .unwrap();
    let n = read(&store, move |tx| tx.notifications_of(p, 10))
        .await
        .unwrap();
    let (newest, oldest) = (n[0].id, n[1].id);
    assert!(n.iter().all(|n| n.read_at.is_none()));
    // One notice, then the rest; another person's id changes nothing.
    let (one, not_theirs, unread) = write(&store, move |tx| {
        Ok::<_, StoreError>((
            tx.mark_notifications_read(p, Some(oldest), at(2))?,
            tx.mark_notifications_read(q, Some(newest), at(2))?,
            tx.count_unread_notifications(p)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!((one, not_theirs, unread), (1, 0, 1));
    let (rest, unread, q_unread) = write(&store, move |tx| {
        Ok::<_, StoreError>((
            tx.mark_notifications_read(p, None, at(3))?,
            tx.count_unread_notifications(p)?,
            tx.count_unread_notifications(q)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!((rest, unread, q_unread), (1, 0, 1));
    let n = read(&store, move |tx| tx.notifications_of(p, 10))
        .await
        .unwrap();
    assert_eq!(n[1].read_at, Some(at(2)), "kept from the first mark");
    assert_eq!(n[0].read_at, Some(at(3)));

    // SMS notices are claimed once each, oldest first, even by claimers at once.
    write(&store, move |tx| {
        for i in 0..7 {
            tx.queue_sms_notice("13500000000", &format!("通知{i}"), at(i))?;
        }
        Ok::<_, StoreError>(())
    })
    .await
    .unwrap();
    let claims = join_all((0..4).map(|_| {
        let s = Arc::clone(&store);
        tokio::spawn(async move {
            write(&s, move |tx| tx.claim_sms_notices(at(10), 3))
                .await
                .unwrap()
        })
    }))
    .await;
    let mut texts: Vec<String> = claims
        .into_iter()
        .flat_map(|c| c.unwrap())
        .map(|n| {
            assert_eq!(n.phone, "13500000000");
            n.text
        })
        .collect();
    // A claimer racing the others may come back short; what it leaves, the next claim takes. No notice is
    // ever taken twice.
    let rest = write(&store, move |tx| tx.claim_sms_notices(at(11), 10))
        .await
        .unwrap();
    texts.extend(rest.into_iter().map(|n| n.text));
    texts.sort();
    assert_eq!(
        texts,
        (0..7).map(|i| format!("通知{i}")).collect::<Vec<_>>()
    );
    let none = write(&store, move |tx| tx.claim_sms_notices(at(12), 10))
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub async fn history_and_applications_by_vehicle(store: Arc<dyn Store>) {
    let (people, vehicles) = seed(&store, 2, 2).await;
    let (p, q, v, w) = (people[0], people[1], vehicles[0], vehicles[1]);
    let (first, second, third) = write(&store, move |tx| {
        let first = tx.insert_binding(&binding(p, v, 0))?;
        tx.remove_binding(first, at(1), q, ActorRole::parse("owner").unwrap())?;
        let second = tx.insert_binding(&binding(p, w, 2))?;
        let third = tx.insert_binding(&binding(q, v, 3))?;
        Ok::<_, StoreError>((first, second, third))
    })
    .await
    .unwrap();
    let (mine, of_v) = read(&store, move |tx| {
        Ok((
            tx.binding_history(BindingsOf::Binder(p), 10)?,
            tx.binding_history(BindingsOf::Vehicle(v), 10)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(
        mine.iter().map(|b| b.id).collect::<Vec<_>>(),
        [second, first],
        "removed ones too, newest first"
    );
    assert_eq!(
        mine[1].removed_role,
        Some(ActorRole::parse("owner").unwrap())
    );
    assert_eq!(
        of_v.iter().map(|b| b.id).collect::<Vec<_>>(),
        [third, first]
    );

    // Handled violations follow the person who handled them, not the binding.
    let handled = write(&store, move |tx| {
        let id = tx.insert_violation(&NewViolation {
            vehicle_id: v,
            occurred_at: at(0),
            code: "1625".into(),
            description: "闯红灯".into(),
            place: "东莞市".into(),
            points: Points::new(6).unwrap(),
            fine_fen: Fen::new(20_000).unwrap(),
            source: ViolationSource::parse("device").unwrap(),
            state: ViolationState::parse("unhandled").unwrap(),
            decision_number: None,
            decided_at: None,
            created_at: at(0),
        })?;
        let mut row = tx.violation(id)?.unwrap();
        row.state = ViolationState::parse("handled").unwrap();
        row.handled_by = Some(p);
        row.decided_at = Some(at(1));
        tx.update_violation(&row)?;
        Ok::<_, StoreError>((
            tx.violations_handled_by(p, 10)?,
            tx.violations_handled_by(q, 10)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(handled.0.len(), 1);
    assert!(handled.1.is_empty());

    let app =
        |id: &str, binder: i64, vehicle: i64, status: ApplicationStatus, m: i64| ApplicationRow {
            id: id.into(),
            binder_id: binder,
            vehicle_id: vehicle,
            method: BindingMethod::parse("qr").unwrap(),
            relationship: None,
            status,
            verification: None,
            note: None,
            binding_id: None,
            created_at: at(m),
            submitted_at: None,
            reviewed_by: None,
            reviewed_at: None,
            review_reason: None,
        };
    let rows = vec![
        app("a-open", p, v, ApplicationStatus::AwaitingVerification, 0),
        app("a-review", q, v, ApplicationStatus::InReview, 1),
        app("a-done", p, v, ApplicationStatus::Committed, 2),
        app("a-gone", q, v, ApplicationStatus::Withdrawn, 3),
        app("a-other", p, w, ApplicationStatus::InReview, 4),
    ];
    write(&store, move |tx| {
        for a in &rows {
            tx.insert_application(a)?;
        }
        Ok::<_, StoreError>(())
    })
    .await
    .unwrap();
    let (open, of_p) = read(&store, move |tx| {
        Ok((
            tx.open_applications_of_vehicle(v)?,
            tx.applications_of_binder(p, 10)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(
        open.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["a-review", "a-open"]
    );
    assert_eq!(
        of_p.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["a-other", "a-done", "a-open"]
    );
    let back = read(&store, move |tx| tx.application("a-gone"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.status, ApplicationStatus::Withdrawn);
}

pub async fn review_photos(store: Arc<dyn Store>) {
    let (people, vehicles) = seed(&store, 1, 1).await;
    let (p, v) = (people[0], vehicles[0]);
    let a = ApplicationRow {
        id: "app-photo".into(),
        binder_id: p,
        vehicle_id: v,
        method: BindingMethod::parse("qr").unwrap(),
        relationship: None,
        status: ApplicationStatus::AwaitingVerification,
        verification: Some(Verification::Failed),
        note: None,
        binding_id: None,
        created_at: at(0),
        submitted_at: None,
        reviewed_by: None,
        reviewed_at: None,
        review_reason: None,
    };
    let png: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0x00, 0xFF, 0xD9];
    let (png2, jpeg2) = (png.clone(), jpeg.clone());
    let none = write(&store, move |tx| {
        tx.insert_application(&a)?;
        let none = tx.review_photo("app-photo")?;
        tx.put_review_photo("app-photo", "image/png", &png2, at(1))?;
        tx.set_review_reject_code("app-photo", "photo_unclear")?;
        Ok::<_, StoreError>(none)
    })
    .await
    .unwrap();
    assert!(none.is_none());
    let (meta, image) = read(&store, |tx| {
        Ok((
            tx.review_photo("app-photo")?.unwrap(),
            tx.review_photo_image("app-photo")?.unwrap(),
        ))
    })
    .await
    .unwrap();
    assert_eq!(meta.content_type, "image/png");
    assert_eq!(meta.size, 5000);
    assert_eq!(meta.uploaded_at, at(1));
    assert_eq!(meta.reject_code.as_deref(), Some("photo_unclear"));
    assert_eq!(image, png, "every byte back");
    // A new upload replaces the photo and clears an earlier decision's code.
    write(&store, move |tx| {
        tx.put_review_photo("app-photo", "image/jpeg", &jpeg2, at(2))
    })
    .await
    .unwrap();
    let (meta, image) = read(&store, |tx| {
        Ok((
            tx.review_photo("app-photo")?.unwrap(),
            tx.review_photo_image("app-photo")?.unwrap(),
        ))
    })
    .await
    .unwrap();
    assert_eq!((meta.content_type.as_str(), meta.size), ("image/jpeg", 6));
    assert!(meta.reject_code.is_none());
    assert_eq!(image, jpeg);
    // The schema refuses a type other than the two.
    let bad = write(&store, |tx| {
        tx.put_review_photo("app-photo", "image/gif", b"GIF", at(3))
    })
    .await;
    assert!(bad.is_err());
}

fn violation_of(vehicle: i64, minutes: i64, state: &str) -> NewViolation {
    let decided = state != "unhandled";
    NewViolation {
        vehicle_id: vehicle,
        occurred_at: at(minutes),
        code: "1344".into(),
        description: "违反禁令标志指示".into(),
        place: "东莞市南城区".into(),
        points: Points::new(3).unwrap(),
        fine_fen: Fen::new(20_000).unwrap(),
        source: ViolationSource::parse("device").unwrap(),
        state: ViolationState::parse(state).unwrap(),
        decision_number: decided.then(|| format!("441900-{minutes}")),
        decided_at: decided.then(|| at(minutes + 1)),
        created_at: at(minutes),
    }
}

/// The policy preview's two reads: the active bindings with their parties, and the open violations
/// streamed vehicle by vehicle with the vehicle and its owner.
pub async fn policy_preview_reads(store: Arc<dyn Store>) {
    let (owner, binder, owned, unowned, elsewhere) = write(&store, |tx| {
        let owner = tx.insert_person(&new_person(1))?;
        let binder = tx.insert_person(&new_person(2))?;
        let owned = tx.insert_vehicle(&new_vehicle(1, Some(owner)))?;
        let unowned = tx.insert_vehicle(&new_vehicle(2, None))?;
        let mut v = new_vehicle(3, None);
        v.city = "533300".into();
        let elsewhere = tx.insert_vehicle(&v)?;
        for (vehicle, minutes, state) in [
            (owned, 10, "unhandled"),
            (owned, 30, "handled"),
            (owned, 20, "paid"),
            (unowned, 5, "unhandled"),
            (elsewhere, 7, "unhandled"),
            (owned, 40, "unhandled"),
        ] {
            tx.insert_violation(&violation_of(vehicle, minutes, state))?;
        }
        tx.insert_binding(&binding(binder, owned, 1))?;
        let gone = tx.insert_binding(&binding(binder, unowned, 2))?;
        tx.remove_binding(gone, at(3), binder, ActorRole::Binder)?;
        Ok((owner, binder, owned, unowned, elsewhere))
    })
    .await
    .unwrap();
    type Group = (i64, Option<i64>, Vec<i64>);
    let (all, dongguan, bindings, stopped, after_stop) = read(&store, |tx| {
        let groups = |city: Option<&str>, tx: &mut dyn Tx| -> StoreResult<Vec<Group>> {
            let mut out: Vec<Group> = Vec::new();
            tx.each_vehicle_with_open_violations(city, &mut |g| {
                let minutes = g
                    .violations
                    .iter()
                    .map(|v| (v.occurred_at.millis() - T0.millis()) / 60_000)
                    .collect();
                out.push((g.vehicle.id, g.owner.map(|o| o.id), minutes));
                Ok(())
            })?;
            Ok(out)
        };
        let all = groups(None, tx)?;
        let dongguan = groups(Some("441900"), tx)?;
        let bindings = tx.active_bindings_with_parties()?;
        // A consumer that gives up half-way ends the scan with its error, and the transaction goes on.
        let stopped = tx.each_vehicle_with_open_violations(None, &mut |_| {
            Err(StoreError::Database("enough".into()))
        });
        let after_stop = tx.count_people()?;
        Ok((all, dongguan, bindings, stopped, after_stop))
    })
    .await
    .unwrap();
    assert_eq!(
        all,
        vec![
            // Paid is settled whatever the policy: left out. Newest first within a vehicle.
            (owned, Some(owner), vec![40, 30, 10]),
            (unowned, None, vec![5]),
            (elsewhere, None, vec![7]),
        ]
    );
    assert_eq!(dongguan, all[..2].to_vec());
    assert_eq!(bindings.len(), 1);
    let b = &bindings[0];
    assert_eq!(
        (
            b.binding.binder_id,
            b.binding.vehicle_id,
            b.vehicle.id,
            b.binder.id
        ),
        (binder, owned, owned, binder)
    );
    assert_eq!(b.binder.name, "测试2");
    assert_eq!(b.vehicle.city, "441900");
    assert!(matches!(stopped, Err(StoreError::Database(m)) if m == "enough"));
    assert_eq!(after_stop, 2);
}
