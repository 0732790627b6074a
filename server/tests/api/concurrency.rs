use crate::helpers::*;
use renche::domain::PlateType;
use reqwest::StatusCode;
use serde_json::json;

/// Many people bind one vehicle with two free places at once: exactly two bindings are made.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_binds_never_pass_the_vehicle_limit() {
    let app = spawn_app().await;
    let officer = app.signed_in(OFFICER).await;
    let vehicle = app.vehicle_id(PlateType::SmallCar, "粤S88888").await;
    let docs = ["driving_licence", "id_card", "vehicle_licence"];
    // One place taken first: two are left.
    let first = app
        .add_person("钱一", "44190019910101011", "13800000100")
        .await;
    let r = officer.post("/api/v1/window/bindings", json!({ "personId": first.to_string(), "vehicleId": vehicle.to_string(), "documentsChecked": docs })).await;
    assert_eq!(r.status, StatusCode::CREATED);

    const CROWD: usize = 24;
    const IDS: [&str; CROWD] = [
        "44190019910101021",
        "44190019910101031",
        "44190019910101041",
        "44190019910101051",
        "44190019910101061",
        "44190019910101071",
        "44190019910101081",
        "44190019910101091",
        "44190019910101101",
        "44190019910101111",
        "44190019910101121",
        "44190019910101131",
        "44190019910101141",
        "44190019910101151",
        "44190019910101161",
        "44190019910101171",
        "44190019910101181",
        "44190019910101191",
        "44190019910101201",
        "44190019910101211",
        "44190019910101221",
        "44190019910101231",
        "44190019910101241",
        "44190019910101251",
    ];
    let mut people = Vec::new();
    for (i, id) in IDS.iter().enumerate() {
        people.push(
            app.add_person("孙众", id, &format!("138000002{i:02}"))
                .await,
        );
    }
    let officer = std::sync::Arc::new(officer);
    let tasks: Vec<_> = people
        .into_iter()
        .map(|p| {
            let officer = officer.clone();
            tokio::spawn(async move {
                officer
                    .post("/api/v1/window/bindings", json!({ "personId": p.to_string(), "vehicleId": vehicle.to_string(), "documentsChecked": docs }))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(r.code(), "VEHICLE_BINDER_LIMIT_REACHED"),
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    assert_eq!(created, 2);
    let active = renche_server::store::read::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| Ok(tx.active_bindings_of_vehicle(vehicle)?),
    )
    .await
    .unwrap();
    assert_eq!(active.len(), 3);
}

/// One person binds many vehicles at once: never more than three at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_binds_never_pass_the_person_limit() {
    let app = spawn_app().await;
    let officer = std::sync::Arc::new(app.signed_in(OFFICER).await);
    let person = app
        .add_person("吴多车", "44190019920202022", "13800000300")
        .await;
    let docs = ["driving_licence", "id_card", "vehicle_licence"];
    let mut vehicles = Vec::new();
    for plate in [
        "粤S70001",
        "粤S70002",
        "粤S70003",
        "粤S70004",
        "粤S70005",
        "粤S70006",
        "粤S70007",
        "粤S70008",
        "粤S70009",
        "粤S70010",
    ] {
        vehicles.push(app.add_vehicle(plate).await);
    }
    let tasks: Vec<_> = vehicles
        .into_iter()
        .map(|v| {
            let officer = officer.clone();
            tokio::spawn(async move {
                officer
                    .post("/api/v1/window/bindings", json!({ "personId": person.to_string(), "vehicleId": v.to_string(), "documentsChecked": docs }))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(r.code(), "USER_BINDING_LIMIT_REACHED"),
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    assert_eq!(created, 3);
    let active = renche_server::store::read::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| Ok(tx.active_bindings_of_binder(person)?),
    )
    .await
    .unwrap();
    assert_eq!(active.len(), 3);
}
