//! Resident ID, phone, engine suffix and instants: no panic; accepted values keep their meaning.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renche::domain::{EngineSuffix, PhoneNumber, ResidentId};
use renche::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = ResidentId::parse(text) {
        assert_eq!(id.as_str().len(), 18);
        assert!(id.birth_date().is_some());
        assert_eq!(
            ResidentId::parse(id.as_str()).expect("normal form parses"),
            id
        );
    }
    if let Ok(p) = PhoneNumber::parse(text) {
        assert_eq!(p.masked().len(), 11);
    }
    if let Ok(e) = EngineSuffix::parse(text) {
        assert_eq!(e.as_str().len(), 6);
    }
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        let back = Timestamp::parse_rfc3339(&t.to_rfc3339()).expect("own output parses");
        assert_eq!(back, t);
    }
});
