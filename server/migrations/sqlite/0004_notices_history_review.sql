-- Read/unread notices, SMS notices to owners who are not registered, and the ID photo of a manual review.

ALTER TABLE notifications ADD COLUMN read_at INTEGER;
CREATE INDEX notifications_unread ON notifications(person_id) WHERE read_at IS NULL;

-- Written in the transaction that binds or unbinds; sent after it commits and marked when handed over,
-- so a notice is neither lost with a crash nor sent for work that was rolled back.
CREATE TABLE sms_notices (
    id         INTEGER PRIMARY KEY,
    phone      TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);
CREATE INDEX sms_notices_pending ON sms_notices(id) WHERE sent_at IS NULL;

-- One photo per application in review: the applicant holding their ID card. Only officers see it.
CREATE TABLE review_photos (
    application_id TEXT    PRIMARY KEY REFERENCES binding_applications(id),
    content_type   TEXT    NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    image          BLOB    NOT NULL,
    uploaded_at    INTEGER NOT NULL,
    -- The officer's rejection reason from the fixed list (the free text is the application's review_reason).
    reject_code    TEXT
);

CREATE INDEX bindings_by_binder ON bindings(binder_id, id);
CREATE INDEX bindings_by_vehicle ON bindings(vehicle_id, id);
CREATE INDEX violations_by_handler ON violations(handled_by) WHERE handled_by IS NOT NULL;
CREATE INDEX binding_applications_by_vehicle ON binding_applications(vehicle_id, status);
