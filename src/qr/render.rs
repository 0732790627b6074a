//! Drawing a QR symbol: the module matrix, a compact SVG, and RGBA / greyscale pixels.
//!
//! The `qrcode` crate builds the matrix (error-correction level M, alphanumeric mode when the text allows);
//! the SVG and the pixels are written here, because the crate's own renderers format one element per module.

use crate::message::{Explain, Message, Params};
use crate::params;
use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, Module};
use qrcode::{EcLevel, Version};
use std::fmt;

/// Light modules around the symbol, as ISO/IEC 18004 asks.
pub const QUIET_ZONE: usize = 4;
/// Largest side, in pixels, that `paint_rgba` / `paint_grey` will make (bounds the allocation).
pub const MAX_PAINT_SIDE: usize = 4096;

/// The modules of one QR symbol, without the quiet zone: `size × size`, row-major, 1 = dark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    size: usize,
    version: u8,
    modules: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QrRenderError {
    /// The text does not fit a version-40 symbol at level M.
    TooLong { len: usize },
    /// A pixel scale of 0, or one that would make an image wider than `MAX_PAINT_SIDE`.
    ScaleOutOfRange { scale: usize, max: usize },
}

/// Whether every byte is in the QR alphanumeric set (0-9 A-Z space $ % * + - . / :).
pub fn is_alphanumeric(text: &str) -> bool {
    text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'Z' | b' ' | b'$' | b'%' | b'*' | b'+' | b'-' | b'.' | b'/' | b':'))
}

impl QrMatrix {
    /// Encodes `text` at level M in the smallest version that holds it, in one mode for the whole text:
    /// numeric for digits only, alphanumeric when every character allows it (the vehicle payload always
    /// does), bytes (UTF-8) otherwise.
    pub fn encode(text: &str) -> Result<Self, QrRenderError> {
        let data = text.as_bytes();
        let too_long = || QrRenderError::TooLong { len: data.len() };
        let bits = smallest_bits(data, Mode::of(text)).ok_or_else(too_long)?;
        let version = match bits.version() {
            Version::Normal(v) => v,
            Version::Micro(_) => return Err(too_long()),
        };
        let (size, modules) = draw(bits).ok_or_else(too_long)?;
        Ok(Self {
            size,
            version: u8::try_from(version).unwrap_or(0),
            modules,
        })
    }

    /// Modules per side, without the quiet zone (21 for version 1, 33 for version 4).
    pub fn size(&self) -> usize {
        self.size
    }
    /// The symbol version, 1–40.
    pub fn version(&self) -> u8 {
        self.version
    }
    /// Row-major modules, 1 = dark.
    pub fn modules(&self) -> &[u8] {
        &self.modules
    }
    /// Whether the module at column `x`, row `y` is dark; false outside the symbol.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && self.modules.get(y * self.size + x).is_some_and(|&m| m != 0)
    }

    /// An SVG of the symbol with its quiet zone, one unit per module, so it scales crisply to any size.
    ///
    /// The dark modules are one `<path>` of horizontal strokes, one per run of dark modules in a row, each a
    /// relative move and a length (`m2 0h3`): a stroke of width 1 along the middle of the row covers the run
    /// exactly, and relative numbers stay one or two digits.
    pub fn to_svg(&self) -> String {
        let side = self.size + 2 * QUIET_ZONE;
        let mut out = String::with_capacity(160 + self.size * self.size * 3 / 2);
        out.push_str(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#);
        push_uint(&mut out, side);
        out.push(' ');
        push_uint(&mut out, side);
        // The white square makes the quiet zone part of the image, so the code scans on dark pages too.
        out.push_str(r##"" shape-rendering="crispEdges"><path fill="#fff" d="M0 0h"##);
        push_uint(&mut out, side);
        out.push('v');
        push_uint(&mut out, side);
        out.push_str(r##"H0z"/><path stroke="#000" d=""##);
        self.push_runs(&mut out);
        out.push_str(r#""/></svg>"#);
        out
    }

    fn push_runs(&self, out: &mut String) {
        // Pen position after the last run, in module units of the symbol (without quiet zone); None at start.
        let mut pen: Option<(usize, usize)> = None;
        for (y, row) in self.modules.chunks_exact(self.size.max(1)).enumerate() {
            let mut x = 0;
            while x < row.len() {
                if row.get(x) != Some(&1) {
                    x += 1;
                    continue;
                }
                let start = x;
                while row.get(x) == Some(&1) {
                    x += 1;
                }
                match pen {
                    None => {
                        out.push('M');
                        push_uint(out, start + QUIET_ZONE);
                        out.push(' ');
                        push_uint(out, y + QUIET_ZONE);
                        out.push_str(".5");
                    }
                    Some((px, py)) => {
                        out.push('m');
                        if start >= px {
                            push_uint(out, start - px);
                        } else {
                            out.push('-');
                            push_uint(out, px - start);
                        }
                        out.push(' ');
                        push_uint(out, y - py);
                    }
                }
                out.push('h');
                push_uint(out, x - start);
                pen = Some((x, y));
            }
        }
    }

    /// RGBA pixels (black on white, opaque) with the quiet zone, `scale` pixels per module: a square image of
    /// side `(size + 8) × scale`, ready for a canvas `ImageData`.
    pub fn paint_rgba(&self, scale: usize) -> Result<Vec<u8>, QrRenderError> {
        let grey = self.paint_grey(scale)?;
        let mut out = Vec::with_capacity(grey.len() * 4);
        for g in grey {
            out.extend_from_slice(&[g, g, g, 255]);
        }
        Ok(out)
    }

    /// Greyscale pixels (0 = black, 255 = white) with the quiet zone; see `paint_rgba`.
    pub fn paint_grey(&self, scale: usize) -> Result<Vec<u8>, QrRenderError> {
        let side = self.painted_side(scale)?;
        let mut out = vec![255u8; side * side];
        let offset = QUIET_ZONE * scale;
        for (y, row) in self.modules.chunks_exact(self.size.max(1)).enumerate() {
            // Paint one pixel row of this module row, then copy it down `scale - 1` times.
            let first = (offset + y * scale) * side;
            let Some(line) = out.get_mut(first..first + side) else {
                continue;
            };
            for (x, &m) in row.iter().enumerate() {
                if m != 0 {
                    let from = offset + x * scale;
                    if let Some(px) = line.get_mut(from..from + scale) {
                        px.fill(0);
                    }
                }
            }
            for k in 1..scale {
                out.copy_within(first..first + side, first + k * side);
            }
        }
        Ok(out)
    }

    /// Side in pixels of `paint_rgba` / `paint_grey` at `scale`, or why that scale is refused.
    pub fn painted_side(&self, scale: usize) -> Result<usize, QrRenderError> {
        let modules = self.size + 2 * QUIET_ZONE;
        let max = MAX_PAINT_SIDE / modules;
        if scale == 0 || scale > max {
            return Err(QrRenderError::ScaleOutOfRange { scale, max });
        }
        Ok(modules * scale)
    }
}

/// Renders `text` as an SVG string; see `QrMatrix::to_svg`.
pub fn svg(text: &str) -> Result<String, QrRenderError> {
    Ok(QrMatrix::encode(text)?.to_svg())
}

/// The one mode a whole text is encoded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Numeric,
    Alphanumeric,
    Byte,
}

impl Mode {
    fn of(text: &str) -> Self {
        if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
            Self::Numeric
        } else if is_alphanumeric(text) {
            Self::Alphanumeric
        } else {
            Self::Byte
        }
    }
}

/// The data bits in the smallest level-M version that holds them.
fn smallest_bits(data: &[u8], mode: Mode) -> Option<Bits> {
    (1..=40).find_map(|v| {
        let mut bits = Bits::new(Version::Normal(v));
        match mode {
            Mode::Numeric => bits.push_numeric_data(data),
            Mode::Alphanumeric => bits.push_alphanumeric_data(data),
            Mode::Byte => bits.push_byte_data(data),
        }
        .ok()?;
        bits.push_terminator(EcLevel::M).ok()?;
        Some(bits)
    })
}

/// Format information for level M and masks 0–7, BCH-coded and XOR-masked (ISO/IEC 18004 table C.1).
const FORMAT_M: [u16; 8] = [
    0x5412, 0x5125, 0x5e7c, 0x5b4b, 0x45f9, 0x40ce, 0x4f97, 0x4aa0,
];

/// Whether mask pattern `k` (000–111) inverts the data module at column `x`, row `y`.
fn mask_inverts(k: usize, x: usize, y: usize) -> bool {
    match k {
        0 => (x + y) % 2 == 0,
        1 => y % 2 == 0,
        2 => x % 3 == 0,
        3 => (x + y) % 3 == 0,
        4 => (y / 2 + x / 3) % 2 == 0,
        5 => (x * y) % 2 + (x * y) % 3 == 0,
        6 => ((x * y) % 2 + (x * y) % 3) % 2 == 0,
        _ => ((x + y) % 2 + (x * y) % 3) % 2 == 0,
    }
}

/// The 30 format-information cells as (x, y, bit), bit 14 first.
fn format_cells(width: usize) -> Vec<(usize, usize, u32)> {
    let w = width;
    let main = [
        (0, 8),
        (1, 8),
        (2, 8),
        (3, 8),
        (4, 8),
        (5, 8),
        (7, 8),
        (8, 8),
        (8, 7),
        (8, 5),
        (8, 4),
        (8, 3),
        (8, 2),
        (8, 1),
        (8, 0),
    ];
    let side = [
        (8, w - 1),
        (8, w - 2),
        (8, w - 3),
        (8, w - 4),
        (8, w - 5),
        (8, w - 6),
        (8, w - 7),
        (w - 8, 8),
        (w - 7, 8),
        (w - 6, 8),
        (w - 5, 8),
        (w - 4, 8),
        (w - 3, 8),
        (w - 2, 8),
        (w - 1, 8),
    ];
    let bits = (0..15u32).rev();
    main.into_iter()
        .zip(bits.clone())
        .chain(side.into_iter().zip(bits))
        .map(|((x, y), b)| (x, y, b))
        .collect()
}

/// Error correction and module placement by the `qrcode` crate; masking and the choice of mask here.
///
/// The crate scores each mask through a boxed closure per module and pattern position: that was 99% of the
/// time of a whole render (about 490 µs natively for a version-4 code). Here the eight masks are XORs of a
/// precomputed byte per module and the penalty works on bit rows, a few microseconds in all. The penalty is
/// the one npm `qrcode` computes (ISO/IEC 18004 §7.8.3 rules N1–N4), so both pick the same mask and draw the
/// same symbol for the same mode and version; the Node tests check that.
fn draw(bits: Bits) -> Option<(usize, Vec<u8>)> {
    let version = bits.version();
    let data = bits.into_bytes();
    let (data_codewords, ec_codewords) =
        qrcode::ec::construct_codewords(&data, version, EcLevel::M).ok()?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data_codewords, &ec_codewords);
    let width = usize::try_from(version.width()).ok()?;
    let side = i16::try_from(width).ok()?;
    // The unmasked symbol, and for each module a byte whose bit k says whether mask k inverts it (data
    // modules only): masking is then one XOR per module and mask.
    let mut base = Vec::with_capacity(width * width);
    let mut flips = Vec::with_capacity(width * width);
    for (y, yi) in (0..side).enumerate() {
        for (x, xi) in (0..side).enumerate() {
            let m = canvas.get(xi, yi);
            base.push(u8::from(m.is_dark()));
            let data = !matches!(m, Module::Masked(_));
            flips.push(
                (0..8)
                    .filter(|&k| data && mask_inverts(k, x, y))
                    .fold(0u8, |acc, k| acc | 1 << k),
            );
        }
    }
    let cells = format_cells(width);
    let mut best: Option<(usize, Vec<u8>)> = None;
    let mut rows = BitRows::new(width);
    for (k, format) in FORMAT_M.iter().enumerate() {
        let mut modules: Vec<u8> = base
            .iter()
            .zip(&flips)
            .map(|(&m, &f)| m ^ (f >> k & 1))
            .collect();
        for &(x, y, bit) in &cells {
            if let Some(m) = modules.get_mut(y * width + x) {
                *m = u8::from(format >> bit & 1 == 1);
            }
        }
        let score = if width <= 64 {
            rows.penalty(&modules)
        } else {
            penalty_reference(&modules, width)
        };
        // Strictly lower: of equal scores the first mask wins, as in npm `qrcode`.
        if best.as_ref().map_or(true, |(s, _)| score < *s) {
            best = Some((score, modules));
        }
    }
    best.map(|(_, modules)| (width, modules))
}

/// N4: 10 points per 5% step of the dark share away from 50%, with npm `qrcode`'s floating-point rounding.
fn balance_penalty(dark: usize, total: usize) -> usize {
    let percent = dark as f64 * 100.0 / total.max(1) as f64;
    (((percent / 5.0).ceil() - 10.0).abs() * 10.0) as usize
}

/// The mask penalty, module by module: the reference that `BitRows::penalty` must equal, and the scorer for
/// versions above 11 (wider than 64 modules).
fn penalty_reference(modules: &[u8], width: usize) -> usize {
    let at = |x: usize, y: usize| modules.get(y * width + x).copied().unwrap_or(0);
    let mut score = 0;
    for i in 0..width {
        for horizontal in [true, false] {
            let (mut run, mut last, mut window) = (0usize, 2u8, 0u32);
            for j in 0..width {
                let m = if horizontal { at(j, i) } else { at(i, j) };
                // N1: a run of n ≥ 5 modules of one colour scores 3 + (n − 5).
                if m == last {
                    run += 1;
                } else {
                    if run >= 5 {
                        score += run - 2;
                    }
                    last = m;
                    run = 1;
                }
                // N3: 1011101 with four light modules on one side, inside the symbol: 40 each.
                window = ((window << 1) & 0x7ff) | u32::from(m);
                if j >= 10 && (window == 0x5d0 || window == 0x05d) {
                    score += 40;
                }
            }
            if run >= 5 {
                score += run - 2;
            }
        }
    }
    // N2: each 2×2 block of one colour, overlapping, scores 3.
    for y in 0..width.saturating_sub(1) {
        for x in 0..width.saturating_sub(1) {
            let sum = at(x, y) + at(x + 1, y) + at(x, y + 1) + at(x + 1, y + 1);
            if sum == 0 || sum == 4 {
                score += 3;
            }
        }
    }
    let dark = modules.iter().filter(|&&m| m != 0).count();
    score + balance_penalty(dark, modules.len())
}

/// One `u64` per row and per column (versions 1–11): each rule becomes a few shifts, ANDs and popcounts.
struct BitRows {
    width: usize,
    rows: Vec<u64>,
    cols: Vec<u64>,
}

impl BitRows {
    fn new(width: usize) -> Self {
        Self {
            width,
            rows: vec![0; width],
            cols: vec![0; width],
        }
    }

    /// Equal to `penalty_reference` for widths up to 64.
    fn penalty(&mut self, modules: &[u8]) -> usize {
        let w = self.width;
        self.rows.fill(0);
        self.cols.fill(0);
        for ((y, row), r) in modules
            .chunks_exact(w)
            .enumerate()
            .zip(self.rows.iter_mut())
        {
            for ((x, &m), c) in row.iter().enumerate().zip(self.cols.iter_mut()) {
                let dark = u64::from(m & 1);
                *r |= dark << x;
                *c |= dark << y;
            }
        }
        let full = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
        // Positions where an 11-module window fits.
        let starts11 = if w >= 11 { (1u64 << (w - 10)) - 1 } else { 0 };
        let mut score = 0usize;
        for &c in self.rows.iter().chain(&self.cols) {
            let n = !c & full;
            for line in [c, n] {
                // Bit i of `r5`: modules i..i+4 all of this colour. A run of n ≥ 5 holds n − 4 of them and
                // scores n − 2: the windows plus 2 per run.
                let r5 = line & line >> 1 & line >> 2 & line >> 3 & line >> 4;
                score += r5.count_ones() as usize + 2 * (r5 & !(r5 << 1)).count_ones() as usize;
            }
            let finder = c & n >> 1 & c >> 2 & c >> 3 & c >> 4 & n >> 5 & c >> 6;
            let light4 = n & n >> 1 & n >> 2 & n >> 3;
            let after = finder & light4 >> 7;
            let before = light4 & finder >> 4;
            score +=
                40 * ((after & starts11).count_ones() + (before & starts11).count_ones()) as usize;
        }
        let pairs = full >> 1;
        for (&a, &b) in self.rows.iter().zip(self.rows.iter().skip(1)) {
            // Columns i and i+1 equal down the pair, and equal across the top row.
            let same = !(a ^ b);
            let across = !(a ^ (a >> 1));
            score += 3 * (same & (same >> 1) & across & pairs).count_ones() as usize;
        }
        let dark: usize = self.rows.iter().map(|r| r.count_ones() as usize).sum();
        score + balance_penalty(dark, w * w)
    }
}

/// Appends a non-negative integer in decimal without going through `fmt`.
fn push_uint(out: &mut String, mut n: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for &d in buf.get(i..).unwrap_or(&[]) {
        out.push(char::from(d));
    }
}

impl Explain for QrRenderError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "QR_TEXT_TOO_LONG",
            Self::ScaleOutOfRange { .. } => "QR_SCALE_OUT_OF_RANGE",
        }
    }
    fn params(&self) -> Params {
        match self {
            Self::TooLong { len } => params![len = i64::try_from(*len).unwrap_or(i64::MAX)],
            Self::ScaleOutOfRange { scale, max } => params![
                scale = i64::try_from(*scale).unwrap_or(i64::MAX),
                max = i64::try_from(*max).unwrap_or(i64::MAX)
            ],
        }
    }
    fn message(&self) -> Message {
        match self {
            Self::TooLong { len } => Message::new(
                format!("内容过长({len} 字节),无法放入二维码"),
                format!("The text is too long for a QR code ({len} bytes)"),
            ),
            Self::ScaleOutOfRange { scale, max } => Message::new(
                format!("像素倍数 {scale} 无效,应为 1 到 {max}"),
                format!("Pixel scale {scale} is out of range; use 1 to {max}"),
            ),
        }
    }
}

impl fmt::Display for QrRenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message().en)
    }
}
impl std::error::Error for QrRenderError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_uint_writes_decimal() {
        for n in [0usize, 7, 10, 99, 100, 4096, usize::MAX] {
            let mut s = String::new();
            push_uint(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn picks_the_smallest_version() {
        assert_eq!(QrMatrix::encode("HELLO WORLD").unwrap().version(), 1);
        assert_eq!(QrMatrix::encode(&"A".repeat(20)).unwrap().version(), 1);
        assert_eq!(QrMatrix::encode(&"A".repeat(21)).unwrap().version(), 2);
        assert_eq!(QrMatrix::encode(&"A".repeat(90)).unwrap().version(), 4);
        assert_eq!(QrMatrix::encode(&"a".repeat(62)).unwrap().version(), 4);
        assert_eq!(QrMatrix::encode(&"a".repeat(63)).unwrap().version(), 5);
        assert_eq!(QrMatrix::encode("1234567890").unwrap().version(), 1);
        assert!(matches!(
            QrMatrix::encode(&"a".repeat(3000)),
            Err(QrRenderError::TooLong { .. })
        ));
    }

    /// The bit-row penalty must equal the module-by-module one, on symbols and on noise.
    #[test]
    fn bit_penalty_equals_reference() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        };
        for width in [1usize, 5, 11, 12, 21, 25, 33, 45, 57, 61, 63, 64] {
            for density in [1u8, 64, 128, 200, 255] {
                let modules: Vec<u8> = (0..width * width)
                    .map(|_| u8::from(next() < density))
                    .collect();
                let mut rows = BitRows::new(width);
                assert_eq!(
                    rows.penalty(&modules),
                    penalty_reference(&modules, width),
                    "{width} {density}"
                );
            }
        }
        for text in ["HELLO WORLD", "https://example.com/", "0123456789"] {
            let m = QrMatrix::encode(text).unwrap();
            let mut rows = BitRows::new(m.size());
            assert_eq!(
                rows.penalty(m.modules()),
                penalty_reference(m.modules(), m.size())
            );
        }
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::of("0123"), Mode::Numeric);
        assert_eq!(Mode::of(""), Mode::Alphanumeric);
        assert_eq!(Mode::of("RC1:18S1**45"), Mode::Alphanumeric);
        assert_eq!(Mode::of("rc1"), Mode::Byte);
        assert_eq!(Mode::of("粤S"), Mode::Byte);
    }

    #[test]
    fn paint_bounds() {
        let m = QrMatrix::encode("HELLO").unwrap();
        assert_eq!(m.size(), 21);
        assert!(m.paint_rgba(0).is_err());
        assert!(m.paint_rgba(1000).is_err());
        let px = m.paint_grey(2).unwrap();
        assert_eq!(px.len(), 58 * 58);
        // Top-left finder pattern starts after the quiet zone.
        assert_eq!(px[8 * 58 + 8], 0);
        assert_eq!(px[7 * 58 + 7], 255);
    }

    #[test]
    fn svg_shape() {
        let s = svg("HELLO WORLD").unwrap();
        assert!(
            s.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29""#),
            "{s}"
        );
        assert!(s.contains(r##"<path stroke="#000" d="M4 4.5h7m"##), "{s}");
        assert_eq!(s.matches("<path").count(), 2);
    }
}
