//! The history checker: many concurrent clients run a random mix of QR bindings, SMS bindings and
//! removals (by binder and by owner), with duplicate requests and dropped-then-retried requests under
//! the same `Idempotency-Key`, possibly against another server, while an optional supervisor kills
//! the servers with SIGKILL and restarts them. Every attempt is recorded; afterwards the record is
//! checked against the database and its audit log.

use crate::client::{self, Call, Reply, Session};
use crate::seed::{Population, SeedVehicle};
use crate::server::ServerProcess;
use crate::{err, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// What one run does.
#[derive(Clone, Debug)]
pub struct Workload {
    pub clients: usize,
    /// Flows in all (a flow is one binding attempt or one removal, several requests each).
    pub operations: u64,
    pub seed: u64,
    /// Share of state changes sent twice at once with the same key.
    pub duplicate_rate: f64,
    /// Share of state changes whose first answer is abandoned (short timeout) and then retried.
    pub drop_rate: f64,
    /// Stop starting new flows after this long.
    pub time_limit: Duration,
    pub max_bindings_per_user: usize,
    pub max_binders_per_vehicle: usize,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            clients: 32,
            operations: 1_500,
            seed: 1,
            duplicate_rate: 0.05,
            drop_rate: 0.05,
            time_limit: Duration::from_secs(600),
            max_bindings_per_user: 3,
            max_binders_per_vehicle: 3,
        }
    }
}

/// One attempt of one request, as the client saw it.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub client: usize,
    pub flow: u64,
    pub person: i64,
    pub method: String,
    pub path: String,
    pub request: Option<Value>,
    pub key: Option<String>,
    pub url: String,
    /// Milliseconds since the run started.
    pub sent_ms: f64,
    pub answered_ms: f64,
    pub status: Option<u16>,
    pub body: Value,
    pub replayed: bool,
    /// Transport failure, or `abandoned` when the client stopped waiting on purpose.
    pub transport: Option<String>,
    /// A deliberate concurrent duplicate.
    pub duplicate: bool,
}

/// The URLs of the servers, changed by the supervisor as it restarts them.
pub type Urls = Arc<RwLock<Vec<String>>>;

struct Ctx {
    http: reqwest::Client,
    urls: Urls,
    pop: Population,
    w: Workload,
    start: Instant,
    log: Mutex<Vec<Attempt>>,
    next_flow: AtomicU64,
    /// Serialises SMS challenges to one owner phone (the development outbox does not say which
    /// challenge a code belongs to).
    sms_locks: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Binding ids seen by anyone (for stale and unrelated removals).
    seen_bindings: Mutex<Vec<(i64, i64, i64)>>,
}

impl Ctx {
    fn ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }
    fn url(&self, rng: &mut StdRng) -> String {
        let urls = self.urls.read().map(|u| u.clone()).unwrap_or_default();
        if urls.is_empty() {
            return String::new();
        }
        let i = rng.gen_range(0..urls.len());
        urls.get(i).cloned().unwrap_or_default()
    }
    fn all_urls(&self) -> Vec<String> {
        self.urls.read().map(|u| u.clone()).unwrap_or_default()
    }
    fn record(&self, a: Attempt) {
        if let Ok(mut l) = self.log.lock() {
            l.push(a);
        }
    }
}

const IN_USE: &str = "IDEMPOTENCY_KEY_IN_USE";
const MAX_ATTEMPTS: u32 = 12;

#[allow(clippy::too_many_arguments)]
async fn attempt(
    ctx: &Ctx,
    client: usize,
    flow: u64,
    call: &Call<'_>,
    url: &str,
    duplicate: bool,
) -> std::result::Result<Reply, client::Transport> {
    let sent = ctx.ms();
    let r = client::send(&ctx.http, url, call).await;
    let answered = ctx.ms();
    let (status, body, replayed, transport) = match &r {
        Ok(reply) => (Some(reply.status), reply.body.clone(), reply.replayed, None),
        Err(t) => {
            let text = if call.timeout.is_some() && t.1 {
                "abandoned".to_owned()
            } else {
                t.0.clone()
            };
            (None, Value::Null, false, Some(text))
        }
    };
    ctx.record(Attempt {
        client,
        flow,
        person: call.session.map(|s| s.person_id).unwrap_or(0),
        method: call.method.to_string(),
        path: call.path.clone(),
        request: call.body.clone(),
        key: call.key.clone(),
        url: url.to_owned(),
        sent_ms: sent,
        answered_ms: answered,
        status,
        body,
        replayed,
        transport,
        duplicate,
    });
    r
}

/// Sends a state change until it has a final answer: duplicates and drops it on purpose, retries with
/// the same key after transport failures and `IDEMPOTENCY_KEY_IN_USE`. `None`: outcome unknown.
async fn change(
    ctx: &Arc<Ctx>,
    rng: &mut StdRng,
    client: usize,
    flow: u64,
    mut call: Call<'_>,
) -> Option<Reply> {
    if rng.gen_bool(ctx.w.duplicate_rate) {
        let dup_ctx = Arc::clone(ctx);
        let dup = Call {
            method: call.method.clone(),
            path: call.path.clone(),
            body: call.body.clone(),
            session: None,
            key: call.key.clone(),
            timeout: None,
        };
        let session = call.session.cloned();
        let url = ctx.url(rng);
        tokio::spawn(async move {
            let dup = Call {
                session: session.as_ref(),
                ..dup
            };
            let _ = attempt(&dup_ctx, client, flow, &dup, &url, true).await;
        });
    }
    if rng.gen_bool(ctx.w.drop_rate) {
        call.timeout = Some(Duration::from_millis(rng.gen_range(1..15)));
        let url = ctx.url(rng);
        let _ = attempt(ctx, client, flow, &call, &url, false).await;
        call.timeout = None;
    }
    let mut backoff = 10u64;
    for _ in 0..MAX_ATTEMPTS {
        let url = ctx.url(rng);
        match attempt(ctx, client, flow, &call, &url, false).await {
            Ok(r) if r.status == 409 && r.code() == Some(IN_USE) => {}
            Ok(r) if r.status >= 500 => {}
            Ok(r) => return Some(r),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(backoff + rng.gen_range(0..backoff))).await;
        backoff = (backoff * 2).min(800);
    }
    None
}

async fn read_call(
    ctx: &Arc<Ctx>,
    rng: &mut StdRng,
    client: usize,
    flow: u64,
    call: Call<'_>,
) -> Option<Reply> {
    for _ in 0..MAX_ATTEMPTS {
        let url = ctx.url(rng);
        match attempt(ctx, client, flow, &call, &url, false).await {
            Ok(r) if r.status < 500 => return Some(r),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    None
}

fn pick_vehicle<'a>(ctx: &'a Ctx, rng: &mut StdRng, binder: i64) -> Option<&'a SeedVehicle> {
    for _ in 0..8 {
        let i = rng.gen_range(0..ctx.pop.vehicles.len().max(1));
        if let Some(v) = ctx.pop.vehicles.get(i) {
            if v.owner_id != binder {
                return Some(v);
            }
        }
    }
    None
}

fn session_of(ctx: &Ctx, person: i64) -> Option<&Session> {
    ctx.pop
        .people
        .iter()
        .find(|p| p.id == person)
        .map(|p| &p.session)
}

async fn commit(
    ctx: &Arc<Ctx>,
    rng: &mut StdRng,
    client: usize,
    flow: u64,
    binder: &Session,
    application: &str,
    method: &str,
) {
    // The binder's face check for this application, on the development identity provider as a browser
    // goes through it, at the server that starts it; the commit may then go to any server.
    let start = json!({ "purpose": "application", "applicationId": application, "returnPath": "/#/bind/verified" });
    let url = ctx.url(rng);
    let Ok(verified) = client::verify(&ctx.http, &url, binder, start, "pass").await else {
        return;
    };
    let mut body = if method == "qr" {
        json!({ "relationship": "spouse", "policyVersion": "441900-2026-09-01.1" })
    } else {
        json!({ "policyVersion": "441900-2026-09-01.1" })
    };
    if let Some(fields) = body.as_object_mut() {
        fields.insert("verificationId".into(), json!(verified.verification_id));
        fields.insert("result".into(), json!(verified.result));
    }
    let call = Call::post(
        format!("/api/v1/binding-applications/{application}/commit"),
        Some(binder),
        body,
    );
    if let Some(r) = change(ctx, rng, client, flow, call).await {
        if r.status == 201 {
            if let Some(id) = r.str_at("/binding/id").and_then(|s| s.parse::<i64>().ok()) {
                let vehicle = r
                    .str_at("/binding/vehicleId")
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0);
                if let Ok(mut s) = ctx.seen_bindings.lock() {
                    s.push((id, binder.person_id, vehicle));
                }
            }
        }
    }
}

async fn qr_flow(ctx: &Arc<Ctx>, rng: &mut StdRng, client: usize, flow: u64, binder: &Session) {
    let Some(v) = pick_vehicle(ctx, rng, binder.person_id) else {
        return;
    };
    let Some(owner) = session_of(ctx, v.owner_id) else {
        return;
    };
    let make = Call::post(
        format!("/api/v1/vehicles/{}/qr-codes", v.id),
        Some(owner),
        json!({}),
    );
    let Some(qr) = change(ctx, rng, client, flow, make).await else {
        return;
    };
    let Some(text) = qr.str_at("/qrText") else {
        return;
    };
    let redeem = Call::post(
        "/api/v1/bindings/qr/redeem",
        Some(binder),
        json!({ "qrText": text }),
    );
    let Some(opened) = change(ctx, rng, client, flow, redeem).await else {
        return;
    };
    let Some(app) = opened.str_at("/applicationId") else {
        return;
    };
    commit(ctx, rng, client, flow, binder, &app, "qr").await;
}

/// The newest message with a code per server for `phone` (binding notices carry none): (url, code, sentAt).
async fn outbox_heads(ctx: &Ctx, phone: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for url in ctx.all_urls() {
        let call = Call::get(format!("/api/v1/dev/sms-outbox?phone={phone}"), None);
        if let Ok(r) = client::send(&ctx.http, &url, &call).await {
            let newest = r
                .body
                .get("messages")
                .and_then(Value::as_array)
                .and_then(|all| all.iter().find(|m| m["code"] != ""));
            if let Some(m) = newest {
                let code = m.get("code").and_then(Value::as_str).unwrap_or("");
                let at = m.get("sentAt").and_then(Value::as_str).unwrap_or("");
                out.push((url.clone(), code.to_owned(), at.to_owned()));
            }
        }
    }
    out
}

async fn sms_flow(ctx: &Arc<Ctx>, rng: &mut StdRng, client: usize, flow: u64, binder: &Session) {
    let Some(v) = pick_vehicle(ctx, rng, binder.person_id) else {
        return;
    };
    let Some(lock) = ctx.sms_locks.get(&v.owner_phone).cloned() else {
        return;
    };
    let app = {
        let _guard = lock.lock().await;
        let before = outbox_heads(ctx, &v.owner_phone).await;
        let start = Call::post(
            "/api/v1/bindings/sms/challenges",
            Some(binder),
            json!({ "plateType": v.plate_type, "plateNumber": v.plate_number, "engineSuffix": v.engine_suffix }),
        );
        let Some(ch) = change(ctx, rng, client, flow, start).await else {
            return;
        };
        let Some(challenge) = ch.str_at("/challengeId") else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut code = None;
        while code.is_none() && Instant::now() < deadline {
            for head in outbox_heads(ctx, &v.owner_phone).await {
                if !before.contains(&head) {
                    code = Some(head.1.clone());
                }
            }
            if code.is_none() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let Some(code) = code else {
            return;
        };
        let path = format!("/api/v1/bindings/sms/challenges/{challenge}/confirm");
        if rng.gen_bool(0.05) {
            let wrong = format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1) % 1_000_000);
            let call = Call::post(path.clone(), Some(binder), json!({ "code": wrong }));
            let _ = change(ctx, rng, client, flow, call).await;
        }
        let call = Call::post(path, Some(binder), json!({ "code": code }));
        let Some(opened) = change(ctx, rng, client, flow, call).await else {
            return;
        };
        let Some(app) = opened.str_at("/applicationId") else {
            return;
        };
        app
    };
    commit(ctx, rng, client, flow, binder, &app, "sms").await;
}

async fn remove_by_binder(
    ctx: &Arc<Ctx>,
    rng: &mut StdRng,
    client: usize,
    flow: u64,
    binder: &Session,
) {
    let Some(list) = read_call(
        ctx,
        rng,
        client,
        flow,
        Call::get("/api/v1/bindings", Some(binder)),
    )
    .await
    else {
        return;
    };
    let ids: Vec<String> = list
        .body
        .get("bindings")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return;
    }
    let id = ids
        .get(rng.gen_range(0..ids.len()))
        .cloned()
        .unwrap_or_default();
    let call = Call::delete(format!("/api/v1/bindings/{id}"), Some(binder));
    let _ = change(ctx, rng, client, flow, call).await;
}

async fn remove_by_owner(ctx: &Arc<Ctx>, rng: &mut StdRng, client: usize, flow: u64) {
    let i = rng.gen_range(0..ctx.pop.vehicles.len().max(1));
    let Some(v) = ctx.pop.vehicles.get(i) else {
        return;
    };
    let Some(owner) = session_of(ctx, v.owner_id) else {
        return;
    };
    let Some(list) = read_call(
        ctx,
        rng,
        client,
        flow,
        Call::get("/api/v1/vehicles", Some(owner)),
    )
    .await
    else {
        return;
    };
    let mut ids = Vec::new();
    for veh in list
        .body
        .get("vehicles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for b in veh
            .get("binders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = b.get("bindingId").and_then(Value::as_str) {
                ids.push(id.to_owned());
            }
        }
    }
    if ids.is_empty() {
        return;
    }
    let id = ids
        .get(rng.gen_range(0..ids.len()))
        .cloned()
        .unwrap_or_default();
    let call = Call::delete(format!("/api/v1/bindings/{id}"), Some(owner));
    let _ = change(ctx, rng, client, flow, call).await;
}

/// Removes a binding seen earlier (often already removed) as someone picked at random: the binder,
/// the owner, or an unrelated person (who must get 404 and change nothing).
async fn stale_removal(ctx: &Arc<Ctx>, rng: &mut StdRng, client: usize, flow: u64) {
    let seen = ctx
        .seen_bindings
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    if seen.is_empty() {
        return;
    }
    let Some(&(id, _binder, _vehicle)) = seen.get(rng.gen_range(0..seen.len())) else {
        return;
    };
    let j = rng.gen_range(0..ctx.pop.people.len().max(1));
    let Some(actor) = ctx.pop.people.get(j) else {
        return;
    };
    let call = Call::delete(format!("/api/v1/bindings/{id}"), Some(&actor.session));
    let _ = change(ctx, rng, client, flow, call).await;
}

async fn client_loop(ctx: Arc<Ctx>, client: usize) {
    let mut rng = StdRng::seed_from_u64(ctx.w.seed.wrapping_mul(1_000_003) + client as u64);
    loop {
        let flow = ctx.next_flow.fetch_add(1, Ordering::Relaxed);
        if flow >= ctx.w.operations || ctx.start.elapsed() > ctx.w.time_limit {
            return;
        }
        let i = rng.gen_range(0..ctx.pop.people.len().max(1));
        let Some(binder) = ctx.pop.people.get(i).map(|p| p.session.clone()) else {
            return;
        };
        let roll: f64 = rng.gen();
        if roll < 0.33 {
            qr_flow(&ctx, &mut rng, client, flow, &binder).await;
        } else if roll < 0.55 {
            sms_flow(&ctx, &mut rng, client, flow, &binder).await;
        } else if roll < 0.77 {
            remove_by_binder(&ctx, &mut rng, client, flow, &binder).await;
        } else if roll < 0.95 {
            remove_by_owner(&ctx, &mut rng, client, flow).await;
        } else {
            stale_removal(&ctx, &mut rng, client, flow).await;
        }
    }
}

/// Kills servers at random moments and restarts them on the same database.
#[derive(Clone, Debug)]
pub struct CrashPlan {
    pub kills: u32,
    /// Time between kills, at most: a kill also comes once the workload has started another
    /// `1 / (kills + 1)` of its flows, so that a run that finishes quickly still gets all its kills.
    pub every: Duration,
}

/// What a run produced.
pub struct RunRecord {
    pub attempts: Vec<Attempt>,
    pub elapsed: Duration,
    pub kills: u32,
    pub flows: u64,
}

/// Runs the workload against `servers` (already started and prepared), killing them per `crash`.
pub async fn run(
    pop: &Population,
    w: &Workload,
    servers: &mut [ServerProcess],
    external_urls: &[String],
    crash: Option<CrashPlan>,
) -> Result<RunRecord> {
    let mut urls: Vec<String> = servers.iter().map(ServerProcess::url).collect();
    urls.extend(external_urls.iter().cloned());
    let http = client::http_client();
    let sms_locks = pop
        .vehicles
        .iter()
        .map(|v| (v.owner_phone.clone(), Arc::new(tokio::sync::Mutex::new(()))))
        .collect();
    let ctx = Arc::new(Ctx {
        http: http.clone(),
        urls: Arc::new(RwLock::new(urls)),
        pop: pop.clone(),
        w: w.clone(),
        start: Instant::now(),
        log: Mutex::new(Vec::new()),
        next_flow: AtomicU64::new(0),
        sms_locks,
        seen_bindings: Mutex::new(Vec::new()),
    });
    let mut tasks = Vec::new();
    for c in 0..w.clients {
        tasks.push(tokio::spawn(client_loop(Arc::clone(&ctx), c)));
    }
    let mut kills = 0;
    if let Some(plan) = crash {
        let mut rng = StdRng::seed_from_u64(w.seed ^ 0x5eed);
        let share = (w.operations / u64::from(plan.kills + 1)).max(1);
        let mut next_share = share;
        while kills < plan.kills && !tasks.iter().all(|t| t.is_finished()) {
            let jitter = rng.gen_range(0..=plan.every.as_millis() as u64 / 2);
            let wait = plan.every / 2 + Duration::from_millis(jitter);
            let since = Instant::now();
            while since.elapsed() < wait
                && ctx.next_flow.load(Ordering::Relaxed) < next_share
                && !tasks.iter().all(|t| t.is_finished())
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            next_share += share;
            if servers.is_empty() || tasks.iter().all(|t| t.is_finished()) {
                break;
            }
            let i = rng.gen_range(0..servers.len());
            if let Some(s) = servers.get_mut(i) {
                s.kill().await?;
                kills += 1;
                tokio::time::sleep(Duration::from_millis(rng.gen_range(20..200))).await;
                s.restart().await?;
            }
        }
    }
    for t in tasks {
        t.await.map_err(|e| err(format!("client task: {e}")))?;
    }
    // Let deliberate duplicates still in flight finish.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let elapsed = ctx.start.elapsed();
    let attempts = ctx.log.lock().map(|l| l.clone()).unwrap_or_default();
    Ok(RunRecord {
        attempts,
        elapsed,
        kills,
        flows: ctx.next_flow.load(Ordering::Relaxed).min(w.operations),
    })
}

// ---------------------------------------------------------------------------------------------
// The checker.

/// What the check found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub flows: u64,
    pub requests: usize,
    pub keys: usize,
    pub unknown_outcomes: usize,
    pub statuses: BTreeMap<String, usize>,
    pub bindings_created: usize,
    pub bindings_removed: usize,
    pub refusals: BTreeMap<String, usize>,
    pub acknowledged_commits: usize,
    pub acknowledged_removals: usize,
    pub max_active_per_user: usize,
    pub max_active_per_vehicle: usize,
    pub integrity_check: String,
    pub violations: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && self.integrity_check == "ok"
    }
}

/// The file path in a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> Result<String> {
    if let Some(p) = url.strip_prefix("sqlite://") {
        return Ok(p.to_owned());
    }
    if url.contains("://") {
        return Err(err(format!(
            "the checker reads SQLite databases only for now, not {url}"
        )));
    }
    Ok(url.to_owned())
}

struct AuditRow {
    id: i64,
    action: String,
    subject: String,
    detail: Value,
    actor: Option<i64>,
}

struct BindingDb {
    binder: i64,
    vehicle: i64,
    application: Option<String>,
    removed_at: Option<i64>,
    removed_by: Option<i64>,
}

fn parse_pair(subject: &str) -> Option<(i64, i64)> {
    let rest = subject.strip_prefix("vehicle:")?;
    let (v, b) = rest.split_once("/binder:")?;
    Some((b.parse().ok()?, v.parse().ok()?))
}

type DbFacts = (String, Vec<AuditRow>, HashMap<i64, BindingDb>);

const AUDIT_SQL: &str = "SELECT id, action, subject, detail, actor_id FROM audit_log
     WHERE action IN ('binding.created', 'binding.removed', 'binding.refused') ORDER BY id";
const BINDINGS_SQL: &str =
    "SELECT id, binder_id, vehicle_id, application_id, removed_at, removed_by FROM bindings";

/// What the checker reads: the integrity verdict, the binding entries of the audit log in id order, and
/// the bindings table. SQLite (`sqlite://PATH`) or PostgreSQL (`postgres://…`).
fn load_db(db_url: &str) -> Result<DbFacts> {
    if db_url.starts_with("postgres://") || db_url.starts_with("postgresql://") {
        let url = db_url.to_owned();
        // The synchronous client runs its own runtime: keep it off the caller's.
        return std::thread::spawn(move || load_postgres(&url))
            .join()
            .map_err(|_| err("the PostgreSQL reader panicked"))?;
    }
    let path = sqlite_path(db_url)?;
    let conn = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    let mut audit = Vec::new();
    let mut st = conn.prepare(AUDIT_SQL)?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    for row in rows {
        let (id, action, subject, detail, actor) = row?;
        audit.push(AuditRow {
            id,
            action,
            subject,
            detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
            actor,
        });
    }
    let mut bindings = HashMap::new();
    let mut st = conn.prepare(BINDINGS_SQL)?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            BindingDb {
                binder: r.get(1)?,
                vehicle: r.get(2)?,
                application: r.get(3)?,
                removed_at: r.get(4)?,
                removed_by: r.get(5)?,
            },
        ))
    })?;
    for row in rows {
        let (id, b) = row?;
        bindings.insert(id, b);
    }
    Ok((integrity, audit, bindings))
}

/// PostgreSQL: the audit ids of two transactions on the same person or vehicle follow their commit
/// order (both lock that row before they write), which is all the per-person and per-vehicle replay
/// needs. There is no `integrity_check`; "ok" stands for "the reads succeeded".
fn load_postgres(url: &str) -> Result<DbFacts> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    let mut audit = Vec::new();
    for r in client.query(AUDIT_SQL, &[])? {
        let detail: String = r.try_get(3)?;
        audit.push(AuditRow {
            id: r.try_get(0)?,
            action: r.try_get(1)?,
            subject: r.try_get(2)?,
            detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
            actor: r.try_get(4)?,
        });
    }
    let mut bindings = HashMap::new();
    for r in client.query(BINDINGS_SQL, &[])? {
        bindings.insert(
            r.try_get::<_, i64>(0)?,
            BindingDb {
                binder: r.try_get(1)?,
                vehicle: r.try_get(2)?,
                application: r.try_get(3)?,
                removed_at: r.try_get(4)?,
                removed_by: r.try_get(5)?,
            },
        );
    }
    Ok(("ok".to_owned(), audit, bindings))
}

/// Checks the run's record against the database at `db_url` (SQLite).
pub fn check(db_url: &str, record: &RunRecord, w: &Workload, pop: &Population) -> Result<Report> {
    let owner_of = owners(pop);
    let (integrity, audit, bindings) = load_db(db_url)?;
    let mut rep = Report {
        flows: record.flows,
        requests: record.attempts.len(),
        integrity_check: integrity,
        ..Report::default()
    };
    let v = &mut rep.violations;

    // 1. Replay the commit order (audit log ids) and check every step.
    let mut active: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut per_user: HashMap<i64, usize> = HashMap::new();
    let mut per_vehicle: HashMap<i64, usize> = HashMap::new();
    let mut created: HashMap<i64, usize> = HashMap::new();
    let mut removed: HashMap<i64, usize> = HashMap::new();
    let mut refused_by_app: HashMap<String, Vec<String>> = HashMap::new();
    let mut created_by_app: HashMap<String, usize> = HashMap::new();
    for a in &audit {
        match a.action.as_str() {
            "binding.created" => {
                let Some((b, veh)) = parse_pair(&a.subject) else {
                    v.push(format!("audit {}: unreadable subject {}", a.id, a.subject));
                    continue;
                };
                let Some(id) = a.detail.get("binding").and_then(Value::as_i64) else {
                    v.push(format!("audit {}: no binding id", a.id));
                    continue;
                };
                if active.values().any(|&p| p == (b, veh)) {
                    v.push(format!(
                        "audit {}: binding {id} created while person {b} already bound vehicle {veh}",
                        a.id
                    ));
                }
                let u = per_user.entry(b).or_default();
                *u += 1;
                let c = per_vehicle.entry(veh).or_default();
                *c += 1;
                if *u > w.max_bindings_per_user {
                    v.push(format!(
                        "audit {}: person {b} has {} active bindings",
                        a.id, *u
                    ));
                }
                if *c > w.max_binders_per_vehicle {
                    v.push(format!("audit {}: vehicle {veh} has {} binders", a.id, *c));
                }
                rep.max_active_per_user = rep.max_active_per_user.max(*u);
                rep.max_active_per_vehicle = rep.max_active_per_vehicle.max(*c);
                active.insert(id, (b, veh));
                *created.entry(id).or_default() += 1;
                if let Some(app) = a.detail.get("application").and_then(Value::as_str) {
                    *created_by_app.entry(app.to_owned()).or_default() += 1;
                }
                match bindings.get(&id) {
                    Some(row) if row.binder == b && row.vehicle == veh => {}
                    _ => v.push(format!(
                        "audit {}: binding {id} ({b}, {veh}) not in the bindings table as such",
                        a.id
                    )),
                }
            }
            "binding.removed" => {
                let Some(id) = a
                    .subject
                    .strip_prefix("binding:")
                    .and_then(|s| s.parse::<i64>().ok())
                else {
                    v.push(format!("audit {}: unreadable subject {}", a.id, a.subject));
                    continue;
                };
                *removed.entry(id).or_default() += 1;
                match active.remove(&id) {
                    Some((b, veh)) => {
                        if let Some(u) = per_user.get_mut(&b) {
                            *u = u.saturating_sub(1);
                        }
                        if let Some(c) = per_vehicle.get_mut(&veh) {
                            *c = c.saturating_sub(1);
                        }
                    }
                    None => v.push(format!(
                        "audit {}: binding {id} removed while not active",
                        a.id
                    )),
                }
                if let Some(row) = bindings.get(&id) {
                    if row.removed_by != a.actor {
                        v.push(format!(
                            "audit {}: binding {id} removed by {:?} but the row says {:?}",
                            a.id, a.actor, row.removed_by
                        ));
                    }
                }
            }
            "binding.refused" => {
                let Some((b, veh)) = parse_pair(&a.subject) else {
                    v.push(format!("audit {}: unreadable subject {}", a.id, a.subject));
                    continue;
                };
                let reasons: Vec<String> = a
                    .detail
                    .get("reasons")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if reasons.is_empty() {
                    v.push(format!("audit {}: a refusal without reasons", a.id));
                }
                let u = per_user.get(&b).copied().unwrap_or(0);
                let c = per_vehicle.get(&veh).copied().unwrap_or(0);
                let bound = active.values().any(|&p| p == (b, veh));
                for r in &reasons {
                    *rep.refusals.entry(r.clone()).or_default() += 1;
                    let justified = match r.as_str() {
                        "USER_BINDING_LIMIT_REACHED" => u >= w.max_bindings_per_user,
                        "VEHICLE_BINDER_LIMIT_REACHED" => c >= w.max_binders_per_vehicle,
                        "ALREADY_BOUND" => bound,
                        _ => false,
                    };
                    if !justified {
                        v.push(format!(
                            "audit {}: refusal {r} of person {b} for vehicle {veh} not justified \
                             (person has {u}, vehicle has {c}, pair bound: {bound})",
                            a.id
                        ));
                    }
                }
                // A refusal must name every limit that held at that point (an existing binding of the
                // same pair answers ALREADY_BOUND alone).
                let mut expected = Vec::new();
                if u >= w.max_bindings_per_user {
                    expected.push("USER_BINDING_LIMIT_REACHED");
                }
                if c >= w.max_binders_per_vehicle {
                    expected.push("VEHICLE_BINDER_LIMIT_REACHED");
                }
                for e in expected.into_iter().filter(|_| !bound) {
                    if !reasons.iter().any(|r| r == e) {
                        v.push(format!(
                            "audit {}: refusal of person {b} for vehicle {veh} misses {e}",
                            a.id
                        ));
                    }
                }
                if let Some(app) = a.detail.get("application").and_then(Value::as_str) {
                    refused_by_app.insert(app.to_owned(), reasons);
                }
            }
            _ => {}
        }
    }
    rep.bindings_created = created.len();
    rep.bindings_removed = removed.len();

    // 2. The final replayed state is the table's, and every row has exactly one creation.
    for (id, row) in &bindings {
        match created.get(id) {
            Some(1) => {}
            n => v.push(format!(
                "binding {id} has {} creation entries",
                n.copied().unwrap_or(0)
            )),
        }
        let replay_active = active.contains_key(id);
        if replay_active != row.removed_at.is_none() {
            v.push(format!(
                "binding {id}: the audit log says active={replay_active}, the table says removed_at={:?}",
                row.removed_at
            ));
        }
        if removed.get(id).copied().unwrap_or(0) > 1 {
            v.push(format!("binding {id} removed more than once"));
        }
    }
    let mut per_app: HashMap<&str, usize> = HashMap::new();
    for row in bindings.values() {
        if let Some(a) = &row.application {
            *per_app.entry(a.as_str()).or_default() += 1;
        }
    }
    for (a, n) in per_app.iter().filter(|(_, n)| **n > 1) {
        v.push(format!("application {a} made {n} bindings"));
    }
    for (a, n) in created_by_app.iter().filter(|(_, n)| **n > 1) {
        v.push(format!(
            "application {a} was committed {n} times in the audit log"
        ));
    }

    // 3. What the clients saw.
    let mut by_key: HashMap<&str, Vec<&Attempt>> = HashMap::new();
    for a in &record.attempts {
        let label = match (a.status, &a.transport) {
            (Some(s), _) => s.to_string(),
            (None, Some(t)) if t == "abandoned" => "abandoned".into(),
            (None, _) => "transport error".into(),
        };
        *rep.statuses.entry(label).or_default() += 1;
        if a.status.is_some_and(|s| s >= 500) {
            v.push(format!(
                "{} {} answered {:?}: {}",
                a.method, a.path, a.status, a.body
            ));
        }
        if let Some(k) = &a.key {
            by_key.entry(k.as_str()).or_default().push(a);
        }
    }
    rep.keys = by_key.len();
    for (key, attempts) in &by_key {
        let finals: Vec<&&Attempt> = attempts
            .iter()
            .filter(|a| {
                a.status.is_some_and(|s| s < 500)
                    && !(a.status == Some(409)
                        && a.body.pointer("/error/code").and_then(Value::as_str) == Some(IN_USE))
            })
            .collect();
        if finals.is_empty() {
            rep.unknown_outcomes += 1;
            continue;
        }
        let first = finals.first().map(|a| (a.status, &a.body));
        for f in &finals {
            if Some((f.status, &f.body)) != first {
                v.push(format!(
                    "key {key}: answers differ: {:?} {} vs {:?} {}",
                    first.map(|x| x.0),
                    first.map(|x| x.1.to_string()).unwrap_or_default(),
                    f.status,
                    f.body
                ));
            }
        }
        let Some(f) = finals.first() else { continue };
        let status = f.status.unwrap_or(0);
        if f.method == "POST" && f.path.ends_with("/commit") {
            let app = f
                .path
                .trim_start_matches("/api/v1/binding-applications/")
                .trim_end_matches("/commit")
                .to_owned();
            if status == 201 {
                rep.acknowledged_commits += 1;
                let id = f
                    .body
                    .pointer("/binding/id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<i64>().ok());
                match id.and_then(|id| bindings.get(&id).map(|b| (id, b))) {
                    Some((_, b))
                        if b.binder == f.person && b.application.as_deref() == Some(&app) => {}
                    _ => v.push(format!(
                        "acknowledged commit of application {app} (binding {id:?}) is missing"
                    )),
                }
            } else if status == 409 {
                let codes: Vec<String> = f
                    .body
                    .pointer("/error/reasons")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.get("code").and_then(Value::as_str))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                if !codes.is_empty() {
                    match refused_by_app.get(&app) {
                        Some(logged) if codes.iter().all(|c| logged.contains(c)) => {}
                        other => v.push(format!(
                            "refusal {codes:?} of application {app} seen by the client, audit log has {other:?}"
                        )),
                    }
                }
            }
        }
        if f.method == "DELETE" {
            let id = f
                .path
                .trim_start_matches("/api/v1/bindings/")
                .parse::<i64>()
                .unwrap_or(0);
            let row = bindings.get(&id);
            match status {
                200 => {
                    rep.acknowledged_removals += 1;
                    if !row
                        .is_some_and(|b| b.removed_at.is_some() && b.removed_by == Some(f.person))
                    {
                        v.push(format!(
                            "acknowledged removal of binding {id} by {} is missing",
                            f.person
                        ));
                    }
                }
                409 if row.is_none_or(|b| b.removed_at.is_none()) => {
                    v.push(format!(
                        "removal of binding {id} refused with {} but it is active",
                        f.body
                    ));
                }
                404 => {
                    if let Some(b) = row {
                        let party =
                            b.binder == f.person || owner_of.get(&b.vehicle) == Some(&f.person);
                        if b.removed_by == Some(f.person) || party {
                            v.push(format!(
                                "removal of binding {id} by {} answered 404 though they are a party",
                                f.person
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(rep)
}

/// The seed population's owners by vehicle, for checks that need them.
pub fn owners(pop: &Population) -> HashMap<i64, i64> {
    pop.vehicles.iter().map(|v| (v.id, v.owner_id)).collect()
}

/// A short, human summary of the record: requests per path kind and status.
pub fn summary(report: &Report) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "flows {}  requests {}  keys {}  unknown outcomes {}\n",
        report.flows, report.requests, report.keys, report.unknown_outcomes
    ));
    s.push_str(&format!("statuses {:?}\n", report.statuses));
    s.push_str(&format!(
        "bindings created {}  removed {}  acknowledged commits {}  removals {}\n",
        report.bindings_created,
        report.bindings_removed,
        report.acknowledged_commits,
        report.acknowledged_removals
    ));
    s.push_str(&format!("refusals {:?}\n", report.refusals));
    s.push_str(&format!(
        "max active per user {}  per vehicle {}  integrity_check {}\n",
        report.max_active_per_user, report.max_active_per_vehicle, report.integrity_check
    ));
    let distinct: HashSet<&String> = report.violations.iter().collect();
    s.push_str(&format!(
        "violations {} ({} distinct)\n",
        report.violations.len(),
        distinct.len()
    ));
    for x in report.violations.iter().take(30) {
        s.push_str(&format!("  - {x}\n"));
    }
    s
}
