//! Vehicle QR codes end to end: payload → symbol → pixels / SVG → scanner → payload, and every refusal.
//! Codes are read by our scanner (quircs) and by `rqrr`; the Node tests add jsQR.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use renche::domain::plate_number::{PlateNumber, PROVINCES};
use renche::domain::plate_type::PlateType;
use renche::qr::render::{is_alphanumeric, QUIET_ZONE};
use renche::qr::{scan_grey, scan_rgba, QrMatrix, QrPayload, QrPayloadError, QrScanError};
use renche::time::Timestamp;
use renche::Explain;

const KEY: &[u8] = b"server secret for tests, 32 byte";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
/// 2026-09-01T07:00:00Z
const T0: Timestamp = Timestamp::from_millis(1_788_246_000_000);

/// A valid small-car or small-NEV plate, masked as the app shows it to a binder.
fn masked_plate() -> impl Strategy<Value = String> {
    let serial = "[0-9A-HJ-NP-Z]";
    (
        0..31usize,
        "[A-HJ-Z]",
        prop_oneof![
            proptest::string::string_regex(&format!("{serial}{{5}}"))
                .unwrap()
                .prop_map(|s| (s, PlateType::SmallCar)),
            proptest::string::string_regex(&format!("[DABCEFGHJK]{serial}[0-9]{{4}}"))
                .unwrap()
                .prop_map(|s| (s, PlateType::SmallNewEnergy)),
        ],
    )
        .prop_map(|(p, a, (serial, t))| {
            let province = PROVINCES[p];
            PlateNumber::parse(&format!("{province}{a}{serial}"), t)
                .unwrap()
                .masked()
        })
}

fn payload() -> impl Strategy<Value = QrPayload> {
    (any::<[u8; 16]>(), 0i64..(1 << 48), masked_plate()).prop_map(|(token, ms, plate)| {
        QrPayload::new(token, Timestamp::from_millis(ms), &plate).unwrap()
    })
}

/// Reads the dark modules back out of our SVG path (`M x y.5`, then `m dx dy` and `h n`).
fn svg_to_bitmap(svg: &str) -> (usize, Vec<u8>) {
    let view = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
    let side: usize = view.split(' ').next().unwrap().parse().unwrap();
    let d = svg
        .split("<path stroke=\"#000\" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut bitmap = vec![0u8; side * side];
    let (mut x, mut y) = (0f64, 0f64);
    let mut chars = d.chars().peekable();
    let number = |chars: &mut std::iter::Peekable<std::str::Chars>| -> f64 {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut s = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() || c == '.' || (c == '-' && s.is_empty()) {
                s.push(c);
                chars.next();
            } else {
                break;
            }
        }
        s.parse().unwrap()
    };
    while let Some(cmd) = chars.next() {
        match cmd {
            'M' => {
                x = number(&mut chars);
                y = number(&mut chars);
            }
            'm' => {
                x += number(&mut chars);
                y += number(&mut chars);
            }
            'h' => {
                let n = number(&mut chars);
                assert!(n > 0.0);
                // A unit-wide stroke along y covers the row floor(y).
                let row = (y - 0.5) as usize;
                assert_eq!(y.fract(), 0.5);
                for i in 0..n as usize {
                    let col = x as usize + i;
                    assert_eq!(bitmap[row * side + col], 0, "run drawn twice");
                    bitmap[row * side + col] = 1;
                }
                x += n;
            }
            other => panic!("unexpected path command {other:?}"),
        }
    }
    (side, bitmap)
}

/// The texts `rqrr`, a second decoder, reads in a greyscale image.
fn rqrr_read(grey: &[u8], width: usize, height: usize) -> Vec<String> {
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    image
        .detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok())
        .map(|(_, text)| text)
        .collect()
}

fn with_quiet_zone(m: &QrMatrix) -> Vec<u8> {
    let side = m.size() + 2 * QUIET_ZONE;
    let mut out = vec![0u8; side * side];
    for y in 0..m.size() {
        for x in 0..m.size() {
            out[(y + QUIET_ZONE) * side + x + QUIET_ZONE] = u8::from(m.is_dark(x, y));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every code we make scans back to the same text, and the text back to the same payload.
    #[test]
    fn payload_render_scan_round_trip(p in payload()) {
        let text = p.encode(KEY);
        prop_assert!(is_alphanumeric(&text));
        let m = QrMatrix::encode(&text).unwrap();
        // 76–77 characters: version 4 (33 × 33) at level M.
        prop_assert_eq!(m.version(), 4);
        let side = m.painted_side(4).unwrap();
        let texts = scan_rgba(&m.paint_rgba(4).unwrap(), side, side).unwrap();
        prop_assert_eq!(&texts, &vec![text.clone()]);
        prop_assert_eq!(rqrr_read(&m.paint_grey(4).unwrap(), side, side), vec![text.clone()]);
        prop_assert_eq!(QrPayload::decode_unverified(&texts[0]).unwrap(), p.clone());
        let before_expiry = Timestamp::from_millis(p.expires_at().millis() - 1);
        prop_assert_eq!(QrPayload::verify(&texts[0], KEY, before_expiry).unwrap(), p);
    }

    /// The SVG path draws exactly the matrix, quiet zone included.
    #[test]
    fn svg_path_is_the_matrix(text in "[ -~]{0,120}|[0-9A-Z $%*+./:-]{1,200}|\\PC{0,40}") {
        let m = QrMatrix::encode(&text).unwrap();
        let (side, bitmap) = svg_to_bitmap(&m.to_svg());
        prop_assert_eq!(side, m.size() + 2 * QUIET_ZONE);
        prop_assert!(bitmap == with_quiet_zone(&m));
    }

    /// Any text renders, in the smallest version of its mode, and scans back unchanged.
    #[test]
    fn any_text_renders_and_scans_back(text in "[0-9]{1,200}|[0-9A-Z $%*+./:-]{0,150}|[ -~]{0,150}|\\PC{0,40}") {
        let m = QrMatrix::encode(&text).unwrap();
        let side = m.painted_side(3).unwrap();
        let grey = m.paint_grey(3).unwrap();
        prop_assert_eq!(scan_grey(&grey, side, side).unwrap(), vec![text.clone()]);
        prop_assert_eq!(rqrr_read(&grey, side, side), vec![text.clone()]);
        if m.version() > 1 {
            // One version less would not have held it: the mode's capacity at level M.
            let bits_per_char = if text.bytes().all(|c| c.is_ascii_digit()) { 10.0 / 3.0 } else if is_alphanumeric(&text) { 5.5 } else { 8.0 };
            let units = if bits_per_char == 8.0 { text.len() } else { text.chars().count() };
            prop_assert!(units as f64 * bits_per_char > 8.0 * f64::from(capacity_m(m.version() - 1)) - 40.0);
        }
    }

    /// Decoding never panics, whatever it is given.
    #[test]
    fn decoding_arbitrary_text_never_panics(text in "\\PC{0,100}|RC[0-9]:[0-9A-Z*+:-]{0,90}") {
        let _ = QrPayload::decode_unverified(&text);
        let _ = QrPayload::verify(&text, KEY, T0);
    }

    /// Scanning never panics on arbitrary pixels and sizes.
    #[test]
    fn scanning_arbitrary_pixels_never_panics(w in 0usize..80, h in 0usize..80, seed in any::<u64>(), extra in 0usize..3) {
        let mut s = seed;
        let pixels: Vec<u8> = (0..w * h + extra).map(|_| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1); (s >> 56) as u8 }).collect();
        let _ = scan_grey(&pixels, w, h);
        let _ = scan_rgba(&pixels, w, h / 4);
    }
}

/// Data codewords at level M of versions 1–40 (ISO/IEC 18004 table 7).
fn capacity_m(version: u8) -> u32 {
    const M: [u32; 40] = [
        16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627,
        669, 714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812,
        1914, 1992, 2102, 2216, 2334,
    ];
    M[usize::from(version) - 1]
}

fn sample() -> (QrPayload, String) {
    let p = QrPayload::issue([0x5a; 16], T0, "粤S·1**45").unwrap();
    let text = p.encode(KEY);
    (p, text)
}

#[test]
fn valid_at_179_seconds_expired_at_180() {
    let (p, text) = sample();
    assert_eq!(p.expires_at(), T0.plus_seconds(180));
    assert!(QrPayload::verify(&text, KEY, T0.plus_seconds(179)).is_ok());
    let e = QrPayload::verify(&text, KEY, T0.plus_seconds(180)).unwrap_err();
    assert_eq!(
        e,
        QrPayloadError::Expired {
            expires_at: T0.plus_seconds(180)
        }
    );
    assert_eq!(e.code(), "QR_EXPIRED");
    assert_eq!(p.seconds_left(T0.plus_seconds(179)), 1);
    assert_eq!(p.seconds_left(T0.plus_seconds(180)), 0);
    // The browser reads an expired code without the key, to say so offline.
    assert_eq!(
        QrPayload::decode_unverified(&text)
            .unwrap()
            .seconds_left(T0.plus_seconds(600)),
        0
    );
}

#[test]
fn wrong_key_is_a_bad_mac() {
    let (_, text) = sample();
    assert_eq!(
        QrPayload::verify(&text, b"another server", T0),
        Err(QrPayloadError::BadMac)
    );
    assert_eq!(
        QrPayload::verify(&text, b"", T0),
        Err(QrPayloadError::BadMac)
    );
}

#[test]
fn every_single_character_change_is_refused() {
    let (_, text) = sample();
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        for &c in ALNUM {
            if c == bytes[i] {
                continue;
            }
            let mut t = bytes.to_vec();
            t[i] = c;
            let t = String::from_utf8(t).unwrap();
            let e = QrPayload::verify(&t, KEY, T0).expect_err(&t);
            // Inside the signed body or the MAC, a well-formed change is caught by the MAC.
            if i >= 13 && QrPayload::decode_unverified(&t).is_ok() {
                assert_eq!(e, QrPayloadError::BadMac, "{t}");
            }
        }
    }
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let (_, text) = sample();
    for n in 0..text.len() {
        let e = QrPayload::verify(&text[..n], KEY, T0).unwrap_err();
        assert!(
            matches!(
                e,
                QrPayloadError::NotVehicleCode | QrPayloadError::Malformed { .. }
            ),
            "{n}: {e:?}"
        );
    }
    assert!(matches!(
        QrPayload::verify(&format!("{text}A"), KEY, T0),
        Err(QrPayloadError::Malformed { .. })
    ));
}

#[test]
fn errors_explain_themselves() {
    let cases = [
        (
            QrPayload::decode_unverified("https://example.com/x").unwrap_err(),
            "QR_NOT_VEHICLE_CODE",
        ),
        (
            QrPayload::decode_unverified("RC9:18S1**45:AAAA").unwrap_err(),
            "QR_UNKNOWN_VERSION",
        ),
        (
            QrPayload::decode_unverified("RC1:18S1**45:AAAA").unwrap_err(),
            "QR_MALFORMED",
        ),
        (
            QrPayload::issue([0; 16], T0, "港A·1**45").unwrap_err(),
            "QR_PLATE_NOT_ENCODABLE",
        ),
    ];
    for (e, code) in cases {
        assert_eq!(e.code(), code);
        assert!(!e.message().zh.is_empty() && !e.to_string().is_empty());
    }
}

/// A deterministic noise source for the photo test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The code as a camera might see it: a 640×480 frame, the code scaled by a non-integer factor, rotated,
/// on grey paper with low contrast, slightly blurred by bilinear sampling, with noise.
fn photo(m: &QrMatrix, module_px: f64, degrees: f64, seed: u64) -> Vec<u8> {
    let (w, h) = (640usize, 480usize);
    let modules = (m.size() + 2 * QUIET_ZONE) as f64;
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f64 / 2.0 + 13.7, h as f64 / 2.0 - 9.2);
    let mut noise = Lcg(seed);
    let ink = |u: f64, v: f64| -> f64 {
        // Module space: 0..modules, quiet zone included; outside is a grey desk.
        if u < 0.0 || v < 0.0 || u >= modules || v >= modules {
            return 120.0;
        }
        let (x, y) = (u as usize, v as usize);
        let q = QUIET_ZONE;
        let dark = x >= q && y >= q && m.is_dark(x - q, y - q);
        if dark {
            60.0
        } else {
            200.0
        }
    };
    let mut out = vec![0u8; w * h];
    for py in 0..h {
        for px in 0..w {
            // Inverse rotation about the frame's centre, then into module units.
            let (dx, dy) = (px as f64 - cx, py as f64 - cy);
            let u = (cos * dx + sin * dy) / module_px + modules / 2.0;
            let v = (-sin * dx + cos * dy) / module_px + modules / 2.0;
            // Average four sub-samples: the edge blur of a real lens.
            let mut sum = 0.0;
            for (ox, oy) in [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)] {
                sum += ink(u + ox / module_px, v + oy / module_px);
            }
            let value = sum / 4.0 + (noise.next() - 0.5) * 50.0;
            out[py * w + px] = value.clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[test]
fn photo_like_frames_still_decode() {
    let (_, text) = sample();
    let m = QrMatrix::encode(&text).unwrap();
    for (module_px, degrees, seed) in [(5.3, 4.0, 1), (3.7, -3.0, 2), (7.9, 7.5, 3), (4.45, 1.5, 4)]
    {
        let frame = photo(&m, module_px, degrees, seed);
        assert_eq!(
            scan_grey(&frame, 640, 480).unwrap(),
            vec![text.clone()],
            "{module_px} px/module, {degrees}°"
        );
    }
}

#[test]
fn empty_and_damaged_frames() {
    assert_eq!(
        scan_grey(&vec![255; 640 * 480], 640, 480),
        Err(QrScanError::NoSymbol)
    );
    // A code with its middle blanked out: the finder patterns are there, the data is not.
    let (_, text) = sample();
    let m = QrMatrix::encode(&text).unwrap();
    let side = m.painted_side(4).unwrap();
    let mut px = m.paint_grey(4).unwrap();
    for y in side / 2 - 40..side / 2 + 40 {
        for x in side / 2 - 40..side / 2 + 40 {
            px[y * side + x] = 255;
        }
    }
    assert!(matches!(
        scan_grey(&px, side, side),
        Err(QrScanError::DecodeFailed { .. }) | Err(QrScanError::NoSymbol)
    ));
}

#[test]
fn two_codes_in_one_frame() {
    let a = QrMatrix::encode("FIRST").unwrap();
    let b = QrMatrix::encode("SECOND").unwrap();
    let (sa, sb) = (a.painted_side(4).unwrap(), b.painted_side(4).unwrap());
    let (pa, pb) = (a.paint_grey(4).unwrap(), b.paint_grey(4).unwrap());
    let (w, h) = (sa + sb, sa.max(sb));
    let mut frame = vec![255u8; w * h];
    for y in 0..sa {
        frame[y * w..y * w + sa].copy_from_slice(&pa[y * sa..(y + 1) * sa]);
    }
    for y in 0..sb {
        frame[y * w + sa..y * w + sa + sb].copy_from_slice(&pb[y * sb..(y + 1) * sb]);
    }
    let mut texts = scan_grey(&frame, w, h).unwrap();
    texts.sort();
    assert_eq!(texts, ["FIRST", "SECOND"]);
}
