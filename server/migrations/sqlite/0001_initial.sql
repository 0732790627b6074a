-- The first schema. Times are UTC epoch milliseconds; money is integer fen.

CREATE TABLE people (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    resident_id         TEXT    NOT NULL UNIQUE,
    phone               TEXT    NOT NULL UNIQUE,
    -- Set when the person registered on the platform; imported records start unregistered.
    registered_at       INTEGER,
    identity_verified   INTEGER NOT NULL DEFAULT 0,
    role                TEXT    NOT NULL DEFAULT 'person' CHECK (role IN ('person', 'officer')),
    licence_class       TEXT,
    licence_status      TEXT,
    licence_points      INTEGER NOT NULL DEFAULT 0,
    licence_cycle_start INTEGER,
    created_at          INTEGER NOT NULL
);

CREATE TABLE vehicles (
    id                INTEGER PRIMARY KEY,
    plate_type        TEXT    NOT NULL,
    plate_number      TEXT    NOT NULL,
    engine_number     TEXT    NOT NULL,
    engine_suffix     TEXT    NOT NULL,
    use_nature        TEXT    NOT NULL,
    owner_kind        TEXT    NOT NULL CHECK (owner_kind IN ('individual', 'unit')),
    owner_person_id   INTEGER REFERENCES people(id),
    owner_name        TEXT    NOT NULL,
    owner_phone       TEXT    NOT NULL,
    owner_resident_id TEXT,
    city              TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    UNIQUE (plate_type, plate_number)
);
CREATE INDEX vehicles_by_owner ON vehicles(owner_person_id);
CREATE INDEX vehicles_by_owner_resident_id ON vehicles(owner_resident_id);

CREATE TABLE bindings (
    id             INTEGER PRIMARY KEY,
    binder_id      INTEGER NOT NULL REFERENCES people(id),
    vehicle_id     INTEGER NOT NULL REFERENCES vehicles(id),
    relationship   TEXT    NOT NULL,
    method         TEXT    NOT NULL CHECK (method IN ('qr', 'sms', 'window')),
    application_id TEXT,
    created_at     INTEGER NOT NULL,
    removed_at     INTEGER,
    removed_by     INTEGER REFERENCES people(id),
    removed_role   TEXT
);
-- One active binding per (person, vehicle), whatever happens above.
CREATE UNIQUE INDEX bindings_one_active_pair ON bindings(binder_id, vehicle_id) WHERE removed_at IS NULL;
CREATE INDEX bindings_active_by_vehicle ON bindings(vehicle_id) WHERE removed_at IS NULL;

CREATE TABLE qr_codes (
    id         INTEGER PRIMARY KEY,
    vehicle_id INTEGER NOT NULL REFERENCES vehicles(id),
    issued_by  INTEGER NOT NULL REFERENCES people(id),
    token_hash BLOB    NOT NULL UNIQUE,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('active', 'used', 'replaced')),
    used_by    INTEGER REFERENCES people(id),
    used_at    INTEGER
);
CREATE INDEX qr_codes_active_by_vehicle ON qr_codes(vehicle_id) WHERE state = 'active';

CREATE TABLE sms_challenges (
    id          TEXT    PRIMARY KEY,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('register', 'sign_in', 'binding')),
    -- Who asked: 'p:<person id>' or 's:<anonymous session>'.
    requester   TEXT    NOT NULL,
    phone       TEXT,
    plate_key   TEXT,
    vehicle_id  INTEGER REFERENCES vehicles(id),
    salt        BLOB    NOT NULL,
    code_hash   BLOB    NOT NULL,
    delivered   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    wrong_tries INTEGER NOT NULL DEFAULT 0,
    consumed_at INTEGER
);
CREATE INDEX sms_challenges_by_phone ON sms_challenges(phone, created_at);
CREATE INDEX sms_challenges_by_plate ON sms_challenges(plate_key, created_at);
CREATE INDEX sms_challenges_by_requester ON sms_challenges(requester, created_at);

CREATE TABLE violations (
    id              INTEGER PRIMARY KEY,
    vehicle_id      INTEGER NOT NULL REFERENCES vehicles(id),
    occurred_at     INTEGER NOT NULL,
    code            TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    place           TEXT    NOT NULL,
    points          INTEGER NOT NULL CHECK (points IN (0, 1, 3, 6, 9, 12)),
    fine_fen        INTEGER NOT NULL CHECK (fine_fen >= 0),
    source          TEXT    NOT NULL CHECK (source IN ('device', 'on_site')),
    state           TEXT    NOT NULL CHECK (state IN ('unhandled', 'handled', 'paid')),
    handled_by      INTEGER REFERENCES people(id),
    decision_number TEXT    UNIQUE,
    decided_at      INTEGER,
    paid_at         INTEGER,
    paid_fen        INTEGER,
    payment_ref     TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX violations_by_vehicle ON violations(vehicle_id, occurred_at DESC);

CREATE TABLE binding_applications (
    id            TEXT    PRIMARY KEY,
    binder_id     INTEGER NOT NULL REFERENCES people(id),
    vehicle_id    INTEGER NOT NULL REFERENCES vehicles(id),
    method        TEXT    NOT NULL,
    relationship  TEXT,
    status        TEXT    NOT NULL,
    verification  TEXT,
    note          TEXT,
    binding_id    INTEGER REFERENCES bindings(id),
    created_at    INTEGER NOT NULL,
    -- When the application was filed (committed or sent to review): what the per-day / per-year caps count.
    submitted_at  INTEGER,
    reviewed_by   INTEGER REFERENCES people(id),
    reviewed_at   INTEGER,
    review_reason TEXT
);
CREATE INDEX binding_applications_by_binder ON binding_applications(binder_id, submitted_at);
CREATE INDEX binding_applications_by_status ON binding_applications(status);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor_id INTEGER,
    action   TEXT    NOT NULL,
    subject  TEXT    NOT NULL,
    detail   TEXT    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'done')),
    status      INTEGER,
    body        BLOB,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    person_id  INTEGER REFERENCES people(id),
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_person ON sessions(person_id);

CREATE TABLE rate_counters (
    key          TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    kind       TEXT    NOT NULL,
    message_zh TEXT    NOT NULL,
    message_en TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX notifications_by_person ON notifications(person_id, id DESC);

-- Keys the server signs with (the vehicle QR codes' HMAC key), made on first start.
CREATE TABLE server_keys (
    name       TEXT    PRIMARY KEY,
    key        BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
