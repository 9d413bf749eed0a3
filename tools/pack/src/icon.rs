//! The NRO icon: a 256x256 baseline JPEG drawn in code (formats.md §1.3), an
//! "X/C" monogram for X descriptors into C buffers. No image file is shipped.

use jpeg_encoder::{ColorType, Encoder};

use crate::error::{Result, invalid};

/// Icon side in pixels; hbmenu expects 256x256.
pub const ICON_SIZE: u16 = 256;

const BACKGROUND: [u8; 3] = [0x1b, 0x26, 0x3b];
const X_COLOUR: [u8; 3] = [0xf2, 0x8c, 0x28];
const SLASH_COLOUR: [u8; 3] = [0xc8, 0xd0, 0xdc];
const C_COLOUR: [u8; 3] = [0x3c, 0xc8, 0xe6];

/// RGB pixels of the icon, row-major.
pub fn icon_rgb() -> Vec<u8> {
    let n = usize::from(ICON_SIZE);
    let mut px = Vec::with_capacity(n * n * 3);
    for y in 0..n {
        for x in 0..n {
            px.extend_from_slice(&pixel(x as i32, y as i32));
        }
    }
    px
}

fn pixel(x: i32, y: i32) -> [u8; 3] {
    // "X": two strokes in the box x 20..108, y 72..184 (slope 112/88).
    let (x0, x1, y0, y1) = (20, 108, 72, 184);
    if (x0..=x1).contains(&x) && (y0..=y1).contains(&y) {
        let along = (y - y0) * (x1 - x0); // scaled y
        let d1 = ((x - x0) * (y1 - y0) - along).abs();
        let d2 = ((x1 - x) * (y1 - y0) - along).abs();
        if d1.min(d2) < 12 * (y1 - y0) {
            return X_COLOUR;
        }
    }
    // "/": a stroke from (150, 64) to (118, 192).
    if (64..=192).contains(&y) {
        let cx = 150 - (y - 64) / 4;
        if (x - cx).abs() <= 5 {
            return SLASH_COLOUR;
        }
    }
    // "C": a ring around (196, 128), open to the right.
    let (dx, dy) = (x - 196, y - 128);
    let r2 = dx * dx + dy * dy;
    if (38 * 38..=56 * 56).contains(&r2) && !(dx > 0 && dy.abs() < 26) {
        return C_COLOUR;
    }
    BACKGROUND
}

/// The icon encoded as a baseline JPEG.
pub fn icon_jpeg() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let encoder = Encoder::new(&mut out, 90);
    encoder
        .encode(&icon_rgb(), ICON_SIZE, ICON_SIZE, ColorType::Rgb)
        .map_err(|e| invalid("icon", "jpeg", e.to_string()))?;
    Ok(out)
}

/// Width and height from a JPEG's first SOFn marker, if it has one.
pub fn jpeg_dimensions(jpeg: &[u8]) -> Option<(u16, u16)> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2usize;
    loop {
        if *jpeg.get(i)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(i + 1)?;
        let len = usize::from(u16::from_be_bytes([*jpeg.get(i + 2)?, *jpeg.get(i + 3)?]));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let h = u16::from_be_bytes([*jpeg.get(i + 5)?, *jpeg.get(i + 6)?]);
            let w = u16::from_be_bytes([*jpeg.get(i + 7)?, *jpeg.get(i + 8)?]);
            return Some((w, h));
        }
        i = i.checked_add(2)?.checked_add(len)?;
    }
}
