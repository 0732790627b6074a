//! Policy documents: a bad one is a named error, a good one survives a serialise/parse round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use renche::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = Policy::article_rules();
    for parsed in [Policy::parse(text), Policy::parse_with_base(text, &base)] {
        if let Ok(p) = parsed {
            let json = serde_json::to_string(&p).expect("a policy serialises");
            assert_eq!(Policy::parse(&json).expect("own output parses"), p);
        }
    }
});
