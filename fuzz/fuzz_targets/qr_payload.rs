//! Vehicle QR codes as scanned: no panic, and a code accepted under a key re-encodes to the same text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renche::qr::QrPayload;
use renche::Timestamp;

const KEY: &[u8] = b"fuzz-key-0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = Timestamp::from_millis(1_788_000_000_000);
    if let Ok(p) = QrPayload::decode_unverified(text) {
        let _ = p.seconds_left(now);
        if let Ok(v) = QrPayload::verify(text, KEY, now) {
            assert_eq!(v.encode(KEY), text);
        }
    }
});
