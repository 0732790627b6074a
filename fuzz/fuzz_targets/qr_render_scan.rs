//! Rendering any text either fails cleanly or yields a symbol that scans back to the same text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renche::qr::{scan_grey, QrMatrix};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.len() > 120 {
        return;
    }
    if let Ok(m) = QrMatrix::encode(text) {
        let side = m.painted_side(2).expect("side");
        let grey = m.paint_grey(2).expect("paint");
        let found = scan_grey(&grey, side, side).expect("scans");
        assert!(found.iter().any(|t| t == text));
        assert!(m.to_svg().starts_with("<svg"));
    }
});
