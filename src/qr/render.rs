//! Drawing a QR symbol: the module matrix, a compact SVG, and RGBA / greyscale pixels.
//!
//! The `qrcode` crate builds the matrix (error-correction level M, alphanumeric mode when the text allows);
//! the SVG and the pixels are written here, because the crate's own renderers format one element per module.

use crate::message::{Explain, Message, Params};
use crate::params;
use qrcode::bits::{encode_auto, Bits};
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
    /// Encodes `text` at level M in the smallest version that holds it: alphanumeric mode when every character
    /// allows it (the vehicle payload always does), otherwise the crate's optimal mix of modes.
    pub fn encode(text: &str) -> Result<Self, QrRenderError> {
        let data = text.as_bytes();
        let too_long = || QrRenderError::TooLong { len: data.len() };
        let bits = if is_alphanumeric(text) {
            alphanumeric_bits(data).ok_or_else(too_long)?
        } else {
            // Mixed text: the crate finds the smallest version and the best mix of modes.
            encode_auto(data, EcLevel::M).map_err(|_| too_long())?
        };
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

/// Format information (level M, masks 0–7, error-corrected and XOR-masked) from ISO/IEC 18004 table C.1.
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

/// The 30 format-information cells as (x, y, bit), bit 14 first, where the `qrcode` crate draws them.
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

/// Error correction and placement by the `qrcode` crate, then masking and the mask choice done here.
///
/// `QrCode::with_bits` scores each mask through a boxed closure per module and pattern position, which made
/// the mask choice 99% of the time of a whole render (about 490 µs natively for a version-4 code). The same
/// scores, computed on bit rows, choose the same mask in a few microseconds; a test compares the matrices.
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
    let mut scratch = Scratch::new(width);
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
        let score = scratch.penalty(&modules);
        // Strictly lower: of equal scores the first mask wins, as in the crate.
        if best.as_ref().map_or(true, |(s, _)| score < *s) {
            best = Some((score, modules));
        }
    }
    best.map(|(_, modules)| (width, modules))
}

/// Buffers reused across the eight masks.
struct Scratch {
    width: usize,
    columns: Vec<u8>,
    rows64: Vec<u64>,
    cols64: Vec<u64>,
}

impl Scratch {
    fn new(width: usize) -> Self {
        Self {
            width,
            columns: vec![0; width * width],
            rows64: vec![0; width],
            cols64: vec![0; width],
        }
    }

    fn penalty(&mut self, modules: &[u8]) -> usize {
        if self.width <= 64 {
            self.penalty_bits(modules)
        } else {
            penalty(modules, &mut self.columns, self.width)
        }
    }

    /// The same score as `penalty` with one `u64` per row and per column (versions 1–11): each rule becomes a
    /// few shifts, ANDs and popcounts per line.
    fn penalty_bits(&mut self, modules: &[u8]) -> usize {
        let w = self.width;
        self.rows64.fill(0);
        self.cols64.fill(0);
        for ((y, row), r) in modules
            .chunks_exact(w)
            .enumerate()
            .zip(self.rows64.iter_mut())
        {
            for ((x, &m), c) in row.iter().enumerate().zip(self.cols64.iter_mut()) {
                let dark = u64::from(m & 1);
                *r |= dark << x;
                *c |= dark << y;
            }
        }
        let full = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
        let mut score = 0usize;
        for &line in self.rows64.iter().chain(&self.cols64) {
            for c in [line, !line & full] {
                // Bit i of `r5`: modules i..i+4 all of this colour. A run of n ≥ 5 holds n − 4 of them and adds
                // n − 2: the windows plus 2 per run.
                let r5 = c & c >> 1 & c >> 2 & c >> 3 & c >> 4;
                score += r5.count_ones() as usize + 2 * (r5 & !(r5 << 1)).count_ones() as usize;
            }
            score += finder_like_bits(line, w);
        }
        let pairs = full >> 1;
        for (&a, &b) in self.rows64.iter().zip(self.rows64.iter().skip(1)) {
            // Columns i and i+1 equal down the pair, and equal across the top row.
            let same = !(a ^ b);
            let across = !(a ^ (a >> 1));
            score += 3 * (same & (same >> 1) & across & pairs).count_ones() as usize;
        }
        let dark: usize = self.rows64.iter().map(|r| r.count_ones() as usize).sum();
        let ratio = dark * 200 / (w * w).max(1);
        score + ratio.abs_diff(100)
    }
}

/// `finder_like` on a line of up to 64 modules held as bits (bit x = module x).
fn finder_like_bits(c: u64, w: usize) -> usize {
    if w < 7 {
        return 0;
    }
    let n = !c;
    let starts = c & n >> 1 & c >> 2 & c >> 3 & c >> 4 & n >> 5 & c >> 6 & ((1u64 << (w - 6)) - 1);
    let mut score = 0;
    let mut rest = starts;
    while rest != 0 {
        let j = rest.trailing_zeros();
        rest &= rest - 1;
        let lo = j.saturating_sub(4);
        let before = (c >> lo) & ((1u64 << (j - lo)) - 1) != 0;
        let after = c.checked_shr(j + 7).unwrap_or(0) & 0xf != 0;
        if !before || !after {
            score += 40;
        }
    }
    score
}

/// The mask penalty of ISO/IEC 18004 §7.8.3 as the `qrcode` crate computes it (its finder-pattern rule and
/// unrounded balance differ slightly from the standard; matching them keeps the chosen mask identical).
fn penalty(modules: &[u8], columns: &mut [u8], width: usize) -> usize {
    // Columns as rows, so that every line rule reads contiguous bytes.
    for (y, row) in modules.chunks_exact(width).enumerate() {
        for (x, &m) in row.iter().enumerate() {
            if let Some(c) = columns.get_mut(x * width + y) {
                *c = m;
            }
        }
    }
    let mut score = 0;
    for line in modules
        .chunks_exact(width)
        .chain(columns.chunks_exact(width))
    {
        // Runs of five or more of one colour: length − 2 each.
        score += line
            .chunk_by(|a, b| a == b)
            .filter(|run| run.len() >= 5)
            .map(|run| run.len() - 2)
            .sum::<usize>();
        score += finder_like(line);
    }
    // 2×2 blocks of one colour, overlapping: 3 each.
    for (top, bottom) in modules
        .chunks_exact(width)
        .zip(modules.chunks_exact(width).skip(1))
    {
        let blocks = top
            .iter()
            .zip(top.iter().skip(1))
            .zip(bottom.iter().zip(bottom.iter().skip(1)));
        score += 3 * blocks
            .filter(|((a, b), (c, d))| a == b && b == c && c == d)
            .count();
    }
    // Balance: distance of the dark share from 50 %, in half-percent steps.
    let dark = modules.iter().filter(|&&m| m != 0).count();
    let ratio = dark * 200 / modules.len().max(1);
    score + ratio.abs_diff(100)
}

/// 40 for each dark-light-dark-dark-dark-light-dark run lacking a dark module among the four before it or among
/// the four after it (positions past the edge count as light).
fn finder_like(line: &[u8]) -> usize {
    const PATTERN: u32 = 0b101_1101;
    let mut score = 0;
    // The last seven modules as bits, newest lowest: one compare per position instead of a slice compare.
    let mut window = 0u32;
    for (end, &m) in line.iter().enumerate() {
        window = ((window << 1) | u32::from(m)) & 0x7f;
        if end < 6 || window != PATTERN {
            continue;
        }
        let j = end - 6;
        let before = line
            .get(j.saturating_sub(4)..j)
            .is_some_and(|s| s.contains(&1));
        let after = line
            .get(end + 1..(end + 5).min(line.len()))
            .is_some_and(|s| s.contains(&1));
        if !before || !after {
            score += 40;
        }
    }
    score
}

/// Alphanumeric mode in the smallest level-M version that holds `data`.
fn alphanumeric_bits(data: &[u8]) -> Option<Bits> {
    // Level-M capacity in characters of versions 1..=10; longer texts start the search at 11.
    const CAPACITY: [usize; 10] = [20, 38, 61, 90, 122, 154, 178, 221, 262, 311];
    let first = CAPACITY
        .iter()
        .position(|&cap| data.len() <= cap)
        .unwrap_or(CAPACITY.len());
    (first + 1..=40).find_map(|v| {
        let mut bits = Bits::new(Version::Normal(i16::try_from(v).ok()?));
        bits.push_alphanumeric_data(data).ok()?;
        bits.push_terminator(EcLevel::M).ok()?;
        Some(bits)
    })
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

    /// The fast mask choice must give exactly the crate's own matrix.
    #[test]
    fn same_matrix_as_the_crate() {
        use qrcode::{Color, QrCode};
        let mut texts: Vec<String> = vec![
            "".into(),
            "HELLO WORLD".into(),
            "https://example.com/?q=粤S".into(),
        ];
        for n in [1usize, 19, 20, 21, 61, 62, 76, 77, 90, 91, 200, 700] {
            texts.push(
                (0..n)
                    .map(|i| {
                        char::from(
                            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"[(i * 7 + n) % 45],
                        )
                    })
                    .collect(),
            );
            texts.push(
                (0..n)
                    .map(|i| char::from(b'a' + ((i * 5 + n) % 26) as u8))
                    .collect(),
            );
        }
        for text in texts {
            let ours = QrMatrix::encode(&text).unwrap();
            let bits = if is_alphanumeric(&text) {
                alphanumeric_bits(text.as_bytes()).unwrap()
            } else {
                encode_auto(text.as_bytes(), EcLevel::M).unwrap()
            };
            let theirs = QrCode::with_bits(bits, EcLevel::M).unwrap();
            assert_eq!(ours.size(), theirs.width(), "{text}");
            let theirs: Vec<u8> = theirs
                .to_colors()
                .into_iter()
                .map(|c| u8::from(c == Color::Dark))
                .collect();
            assert_eq!(ours.modules(), &theirs[..], "{text}");
        }
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
