-- A session opened at a kiosk (ID card and face check) belongs to the person the card names and to that
-- kiosk: it is honoured only on requests the same kiosk signs. Such a session has no account.
ALTER TABLE sessions ADD COLUMN person_id INTEGER REFERENCES people(id);
ALTER TABLE sessions ADD COLUMN kiosk_id INTEGER REFERENCES kiosks(id);
