//! Drawing a QR symbol: the module matrix, a compact SVG, and RGBA / greyscale pixels.
//!
//! The `qrcode` crate builds the matrix (error-correction level M, alphanumeric mode when the text allows);
//! the SVG and the pixels are written here, because the crate's own renderers format one element per module.

use crate::message::{Explain, Message, Params};
use crate::params;
use qrcode::bits::{encode_auto, Bits};
use qrcode::{Color, EcLevel, QrCode, Version};
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
        let code = QrCode::with_bits(bits, EcLevel::M).map_err(|_| too_long())?;
        let size = code.width();
        let modules = code.into_colors().into_iter().map(|c| u8::from(c == Color::Dark)).collect();
        Ok(Self { size, version: u8::try_from(version).unwrap_or(0), modules })
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
            let Some(line) = out.get_mut(first..first + side) else { continue };
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

/// Alphanumeric mode in the smallest level-M version that holds `data`.
fn alphanumeric_bits(data: &[u8]) -> Option<Bits> {
    // Level-M capacity in characters of versions 1..=10; longer texts start the search at 11.
    const CAPACITY: [usize; 10] = [20, 38, 61, 90, 122, 154, 178, 221, 262, 311];
    let first = CAPACITY.iter().position(|&cap| data.len() <= cap).unwrap_or(CAPACITY.len());
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
        assert!(matches!(QrMatrix::encode(&"a".repeat(3000)), Err(QrRenderError::TooLong { .. })));
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
        assert!(s.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29""#), "{s}");
        assert!(s.contains(r##"<path stroke="#000" d="M4 4.5h7m"##), "{s}");
        assert_eq!(s.matches("<path").count(), 2);
    }
}
