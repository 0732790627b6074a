-- Enrolled self-service kiosks: each signs its requests with the key whose public half is kept here.
CREATE TABLE kiosks (
    id          INTEGER PRIMARY KEY,
    city        TEXT    NOT NULL,
    place       TEXT    NOT NULL,
    public_key  BLOB    NOT NULL UNIQUE,
    enrolled_by INTEGER NOT NULL REFERENCES people(id),
    enrolled_at INTEGER NOT NULL,
    disabled_at INTEGER
);
-- Each signed request's nonce, kept past the signature's window so that no request is taken twice.
CREATE TABLE kiosk_nonces (
    kiosk_id INTEGER NOT NULL REFERENCES kiosks(id),
    nonce    TEXT    NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (kiosk_id, nonce)
);
