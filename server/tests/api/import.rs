use crate::helpers::*;
use renche_server::import::{import_file, ImportError, ImportKind};

#[tokio::test]
async fn a_file_with_a_bad_row_loads_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let good = renche_server::demo::resident_id("44190019880808008").unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(
        &path,
        format!(
            "name,residentId,phone,licenceClass,licenceStatus,licencePoints,licenceCycleStart\n\
             周导入,{},13700000001,C1,normal,3,2026-03-01\n\
             吴错误,441900198808080000,13700000002,C1,normal,0,2026-03-01\n",
            good.as_str()
        ),
    )
    .unwrap();
    let now = renche_server::clock::Clock::now(app.clock.as_ref());
    match import_file(&app.state.store, ImportKind::People, &path, now).await {
        Err(ImportError::Rows(rows)) => {
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].0, 3, "the bad row's line");
            assert!(rows[0].1.contains("residentId"), "{}", rows[0].1);
        }
        other => panic!("expected bad rows, got {other:?}"),
    }
    let found = renche_server::store::read::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        |tx| Ok(tx.person_by_phone("13700000001")?),
    )
    .await
    .unwrap();
    assert!(found.is_none(), "nothing loaded");

    std::fs::write(
        &path,
        format!(
            "name,residentId,phone,licenceClass\n周导入,{},13700000001,C1\n",
            good.as_str()
        ),
    )
    .unwrap();
    assert_eq!(
        import_file(&app.state.store, ImportKind::People, &path, now)
            .await
            .unwrap(),
        1
    );

    let vehicles = dir.path().join("vehicles.json");
    std::fs::write(
        &vehicles,
        serde_json::json!([
            { "plateType": "02", "plateNumber": "粤S55555", "engineNumber": "ABC555555", "useNature": "A", "ownerKind": "individual",
              "ownerName": "周导入", "ownerPhone": "13700000001", "ownerResidentId": good.as_str(), "city": "441900" }
        ])
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        import_file(&app.state.store, ImportKind::Vehicles, &vehicles, now)
            .await
            .unwrap(),
        1
    );
    let violations = dir.path().join("violations.csv");
    std::fs::write(
        &violations,
        "plateType,plateNumber,occurredAt,code,description,place,points,fineFen,source\n\
         02,粤S55555,2026-08-20T01:00:00Z,1625,闯红灯,东莞大道,6,20000,device\n\
         02,粤S00000,2026-08-20T01:00:00Z,1625,闯红灯,东莞大道,6,20000,device\n",
    )
    .unwrap();
    match import_file(&app.state.store, ImportKind::Violations, &violations, now).await {
        Err(ImportError::Rows(rows)) => assert_eq!(rows[0].0, 3),
        other => panic!("expected the unknown plate refused, got {other:?}"),
    }
    // The imported person gets their record after registering and passing verification.
    let c = app.register("13700000001").await;
    let reg = c.verify_account("周导入", good.as_str(), "pass").await;
    assert_eq!(reg.status, reqwest::StatusCode::OK, "{:?}", reg.body);
    assert_eq!(reg.body["person"]["licence"]["class"], "C1");
}
