//! Reading QR symbols from camera frames and uploaded images (greyscale or RGBA pixels), with `quircs`
//! (a Rust port of quirc).

use crate::message::{Explain, Message, Params};
use crate::params;
use std::fmt;

/// Largest frame accepted, in pixels (a 12-megapixel photo): bounds the decoder's working memory.
pub const MAX_PIXELS: usize = 4000 * 3000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QrScanError {
    /// The pixel buffer does not match `width × height` (× 4 for RGBA), or a side is 0.
    BadDimensions {
        width: usize,
        height: usize,
        len: usize,
        expected: usize,
    },
    /// More pixels than `MAX_PIXELS`.
    TooLarge { width: usize, height: usize },
    /// No QR symbol in the image.
    NoSymbol,
    /// Symbols were found but none could be read (blurred, cut off, glare).
    DecodeFailed { symbols: usize },
}

/// The texts of every symbol that could be read, in the order found. Pixels: 0 = black, 255 = white.
pub fn scan_grey(pixels: &[u8], width: usize, height: usize) -> Result<Vec<String>, QrScanError> {
    check(pixels.len(), width, height, 1)?;
    scan(pixels, width, height)
}

/// Like `scan_grey` for RGBA pixels (canvas `ImageData`); transparent pixels count as white paper.
pub fn scan_rgba(pixels: &[u8], width: usize, height: usize) -> Result<Vec<String>, QrScanError> {
    check(pixels.len(), width, height, 4)?;
    let grey: Vec<u8> = pixels.chunks_exact(4).map(rgba_to_grey).collect();
    scan(&grey, width, height)
}

fn rgba_to_grey(px: &[u8]) -> u8 {
    let [r, g, b, a] = [0, 1, 2, 3].map(|i| u32::from(px.get(i).copied().unwrap_or(255)));
    // ITU-R BT.601 luma in 8.8 fixed point, then composited over white by alpha.
    let luma = (77 * r + 150 * g + 29 * b) >> 8;
    let grey = 255 - ((255 - luma) * a + 127) / 255;
    u8::try_from(grey).unwrap_or(255)
}

fn check(len: usize, width: usize, height: usize, channels: usize) -> Result<(), QrScanError> {
    let pixels = width.checked_mul(height);
    let expected = pixels.and_then(|p| p.checked_mul(channels));
    match (pixels, expected) {
        (Some(p), Some(e)) if width > 0 && height > 0 && e == len => {
            if p > MAX_PIXELS {
                Err(QrScanError::TooLarge { width, height })
            } else {
                Ok(())
            }
        }
        _ => Err(QrScanError::BadDimensions {
            width,
            height,
            len,
            expected: expected.unwrap_or(usize::MAX),
        }),
    }
}

/// `grey` holds exactly `width × height` pixels (checked by the callers).
fn scan(grey: &[u8], width: usize, height: usize) -> Result<Vec<String>, QrScanError> {
    // quirc's port indexes its arrays directly, and its relative rqrr has known assertion failures on
    // degenerate photos. Natively a panic becomes a failed decode; in WebAssembly (panic = abort) it traps,
    // which is why the browser should scan in a worker it can restart (docs/qr.md).
    std::panic::catch_unwind(|| detect(grey, width, height))
        .unwrap_or(Err(QrScanError::DecodeFailed { symbols: 0 }))
}

fn detect(grey: &[u8], width: usize, height: usize) -> Result<Vec<String>, QrScanError> {
    let mut decoder = quircs::Quirc::default();
    let mut symbols = 0;
    let mut texts = Vec::new();
    for code in decoder.identify(width, height, grey) {
        symbols += 1;
        // A symbol that cannot be sampled or corrected, or whose bytes are not UTF-8 (Shift-JIS kanji),
        // counts as found but unreadable.
        let text = code
            .ok()
            .and_then(|c| c.decode().ok())
            .and_then(|d| String::from_utf8(d.payload).ok());
        texts.extend(text);
    }
    if symbols == 0 {
        return Err(QrScanError::NoSymbol);
    }
    if texts.is_empty() {
        return Err(QrScanError::DecodeFailed { symbols });
    }
    Ok(texts)
}

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Explain for QrScanError {
    fn code(&self) -> &'static str {
        match self {
            Self::BadDimensions { .. } => "QR_IMAGE_BAD_DIMENSIONS",
            Self::TooLarge { .. } => "QR_IMAGE_TOO_LARGE",
            Self::NoSymbol => "QR_NO_SYMBOL",
            Self::DecodeFailed { .. } => "QR_DECODE_FAILED",
        }
    }
    fn params(&self) -> Params {
        match self {
            Self::BadDimensions {
                width,
                height,
                len,
                expected,
            } => {
                params![
                    width = int(*width),
                    height = int(*height),
                    len = int(*len),
                    expected = int(*expected)
                ]
            }
            Self::TooLarge { width, height } => params![
                width = int(*width),
                height = int(*height),
                maxPixels = int(MAX_PIXELS)
            ],
            Self::NoSymbol => params![],
            Self::DecodeFailed { symbols } => params![symbols = int(*symbols)],
        }
    }
    fn message(&self) -> Message {
        match self {
            Self::BadDimensions {
                width, height, len, ..
            } => Message::new(
                format!("图像尺寸 {width}×{height} 与像素数据长度 {len} 不符"),
                format!("Image size {width}×{height} does not match pixel data of length {len}"),
            ),
            Self::TooLarge { width, height } => Message::new(
                format!("图像 {width}×{height} 过大,请缩小后重试"),
                format!("The image ({width}×{height}) is too large; scale it down and try again"),
            ),
            Self::NoSymbol => Message::new(
                "未找到二维码,请将二维码置于取景框内",
                "No QR code found; hold the code inside the frame",
            ),
            Self::DecodeFailed { .. } => Message::new(
                "找到二维码但无法识别,请保持稳定、避免反光",
                "A QR code was found but could not be read; hold steady and avoid glare",
            ),
        }
    }
}

impl fmt::Display for QrScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message().en)
    }
}
impl std::error::Error for QrScanError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::QrMatrix;

    #[test]
    fn bad_dimensions_are_refused() {
        assert!(matches!(
            scan_grey(&[], 0, 0),
            Err(QrScanError::BadDimensions { .. })
        ));
        assert!(matches!(
            scan_grey(&[0; 10], 3, 3),
            Err(QrScanError::BadDimensions { .. })
        ));
        assert!(matches!(
            scan_rgba(&[0; 9], 3, 3),
            Err(QrScanError::BadDimensions { .. })
        ));
        assert!(matches!(
            scan_grey(&[0; 4], usize::MAX, 2),
            Err(QrScanError::BadDimensions { .. })
        ));
        assert_eq!(scan_grey(&[255; 1], 1, 1), Err(QrScanError::NoSymbol));
    }

    #[test]
    fn reads_what_it_paints() {
        let m = QrMatrix::encode("HELLO WORLD").unwrap();
        let side = m.painted_side(3).unwrap();
        assert_eq!(
            scan_grey(&m.paint_grey(3).unwrap(), side, side).unwrap(),
            ["HELLO WORLD"]
        );
        assert_eq!(
            scan_rgba(&m.paint_rgba(3).unwrap(), side, side).unwrap(),
            ["HELLO WORLD"]
        );
    }

    #[test]
    fn transparent_is_white() {
        assert_eq!(rgba_to_grey(&[0, 0, 0, 0]), 255);
        assert_eq!(rgba_to_grey(&[0, 0, 0, 255]), 0);
        assert_eq!(rgba_to_grey(&[255, 255, 255, 255]), 255);
    }
}
