//! Any text, as any plate type: no panic, and an accepted plate round-trips through its display form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renche::domain::{PlateNumber, PlateType};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let plate_type = PlateType::ALL[selector as usize % PlateType::ALL.len()];
    if let Ok(plate) = PlateNumber::parse(text, plate_type) {
        let again = PlateNumber::parse(&plate.display(), plate_type).expect("display form parses");
        assert_eq!(again, plate);
        let _ = plate.masked();
    }
});
