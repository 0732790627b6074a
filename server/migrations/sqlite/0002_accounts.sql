-- Accounts before people (docs/decisions.md, "Who is who"). An account is a phone proven by an SMS code;
-- it is linked to a person record (people) only by a passed real-person verification. `people.phone` becomes
-- the phone on file of a record, no longer unique: two records may carry a stale or shared number, and no
-- record's phone can keep anyone from an account. Sessions now belong to an account; the old ones end.

CREATE TABLE people_new (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    resident_id         TEXT    NOT NULL UNIQUE,
    -- The phone on file (imported, or the verified account's phone when the record was linked).
    phone               TEXT    NOT NULL,
    -- Set when a verified account was first linked to this record; imported records start unregistered.
    registered_at       INTEGER,
    identity_verified   INTEGER NOT NULL DEFAULT 0,
    role                TEXT    NOT NULL DEFAULT 'person' CHECK (role IN ('person', 'officer')),
    licence_class       TEXT,
    licence_status      TEXT,
    licence_points      INTEGER NOT NULL DEFAULT 0,
    licence_cycle_start INTEGER,
    created_at          INTEGER NOT NULL
);
INSERT INTO people_new SELECT id, name, resident_id, phone, registered_at, identity_verified, role,
    licence_class, licence_status, licence_points, licence_cycle_start, created_at FROM people;
DROP TABLE people;
ALTER TABLE people_new RENAME TO people;
CREATE INDEX people_by_phone ON people(phone);

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    phone       TEXT    NOT NULL UNIQUE,
    -- The person this account has proven to be; NULL until a verification passed (or after a takeover).
    person_id   INTEGER UNIQUE REFERENCES people(id),
    created_at  INTEGER NOT NULL,
    verified_at INTEGER
);
-- Registered people become accounts that must verify again: nothing proved who registered them.
INSERT INTO accounts (phone, created_at) SELECT phone, registered_at FROM people WHERE registered_at IS NOT NULL;

DROP TABLE sessions;
CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id),
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_account ON sessions(account_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE identity_verifications (
    id               TEXT    PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    purpose          TEXT    NOT NULL CHECK (purpose IN ('account', 'application')),
    resident_id      TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    application_id   TEXT    REFERENCES binding_applications(id),
    provider_session TEXT,
    provider_url     TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('started', 'passed', 'failed', 'no_face', 'unavailable')),
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX identity_verifications_by_account ON identity_verifications(account_id, created_at);

-- Provider results used once each (a replayed result is refused).
CREATE TABLE identity_results (
    result_id       TEXT    PRIMARY KEY,
    verification_id TEXT    NOT NULL REFERENCES identity_verifications(id),
    outcome         TEXT    NOT NULL,
    used_at         INTEGER NOT NULL
);
