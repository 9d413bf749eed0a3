//! Where the page is drawn: a [`Surface`] takes pixels; [`LinearSurface`] is a plain
//! row-major 1280×720 buffer (the host's render, for the bench's comparison and the PNG),
//! [`super::BlockLinearSurface`] the frame the client queues.

use super::{Colour, HEIGHT, WIDTH};

/// Pixels in one span of [`Surface::put_span16`]: one glyph row drawn ×2.
pub const SPAN: usize = 16;
/// Bytes of one span (RGBA8888).
pub const SPAN_BYTES: usize = SPAN * super::BYTES_PER_PIXEL;

/// Something pixels are drawn on. Pixels outside it are ignored, never a panic.
pub trait Surface {
    /// Sets the pixel at column `x`, row `y`.
    fn put(&mut self, x: usize, y: usize, c: Colour);

    /// Sets the 16 pixels from (`x`, `y`) rightwards: `px` holds them as RGBA8888 bytes in
    /// memory order (4 per pixel). The console draws only such spans, at `x` a multiple of
    /// 16, so a surface can copy them whole; this default goes pixel by pixel.
    fn put_span16(&mut self, x: usize, y: usize, px: &[u8; SPAN_BYTES]) {
        for (i, p) in px.chunks_exact(4).enumerate() {
            let mut b = [0u8; 4];
            b.copy_from_slice(p);
            self.put(x + i, y, Colour::from_bytes(b));
        }
    }
}

/// A 1280×720 buffer, row-major, one [`Colour::word`] per pixel (so its bytes in memory on
/// a little-endian machine are R, G, B, A per pixel). A shorter slice simply drops the
/// pixels that do not fit.
pub struct LinearSurface<'a>(pub &'a mut [u32]);

impl LinearSurface<'_> {
    /// Pixels in a full buffer.
    pub const LEN: usize = WIDTH * HEIGHT;

    /// The pixel at (`x`, `y`), None outside the buffer.
    pub fn get(&self, x: usize, y: usize) -> Option<Colour> {
        if x >= WIDTH || y >= HEIGHT {
            return None;
        }
        self.0.get(y * WIDTH + x).map(|w| Colour::from_word(*w))
    }

    /// Sets every pixel to `c`.
    pub fn fill(&mut self, c: Colour) {
        self.0.fill(c.word());
    }
}

impl Surface for LinearSurface<'_> {
    fn put(&mut self, x: usize, y: usize, c: Colour) {
        if x >= WIDTH || y >= HEIGHT {
            return;
        }
        if let Some(p) = self.0.get_mut(y * WIDTH + x) {
            *p = c.word();
        }
    }

    fn put_span16(&mut self, x: usize, y: usize, px: &[u8; SPAN_BYTES]) {
        if y >= HEIGHT || x >= WIDTH {
            return;
        }
        let start = y * WIDTH + x;
        let n = SPAN.min(WIDTH - x);
        let Some(row) = self.0.get_mut(start..start + n) else { return };
        for (p, b) in row.iter_mut().zip(px.chunks_exact(4)) {
            let mut w = [0u8; 4];
            w.copy_from_slice(b);
            *p = u32::from_le_bytes(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    extern crate alloc;

    #[test]
    fn linear_surface_stores_rgba_bytes_in_memory_order() {
        let mut buf = vec![0u32; LinearSurface::LEN];
        let mut s = LinearSurface(&mut buf);
        s.put(3, 2, Colour { r: 1, g: 2, b: 3, a: 4 });
        assert_eq!(buf[2 * WIDTH + 3].to_le_bytes(), [1, 2, 3, 4]);
    }

    #[test]
    fn pixels_outside_the_surface_are_ignored() {
        let mut buf = vec![0u32; LinearSurface::LEN];
        let mut s = LinearSurface(&mut buf);
        s.put(WIDTH, 0, Colour::WHITE);
        s.put(0, HEIGHT, Colour::WHITE);
        s.put_span16(WIDTH - 8, 0, &[0xFF; SPAN_BYTES]);
        s.put_span16(0, HEIGHT, &[0xFF; SPAN_BYTES]);
        let lit: usize = buf.iter().filter(|w| **w != 0).count();
        assert_eq!(lit, 8, "only the 8 pixels of the clipped span are inside");
        // A short slice: no panic.
        let mut short = [0u32; 10];
        let mut s = LinearSurface(&mut short);
        s.put(5, 5, Colour::WHITE);
        s.put_span16(0, 0, &[0xFF; SPAN_BYTES]);
        assert_eq!(short, [0; 10]);
    }

    #[test]
    fn the_span_fast_path_equals_pixel_by_pixel() {
        struct Slow<'a>(LinearSurface<'a>);
        impl Surface for Slow<'_> {
            fn put(&mut self, x: usize, y: usize, c: Colour) {
                self.0.put(x, y, c);
            }
        }
        let px: [u8; SPAN_BYTES] = core::array::from_fn(|i| i as u8);
        let mut a = vec![0u32; LinearSurface::LEN];
        let mut b = vec![0u32; LinearSurface::LEN];
        LinearSurface(&mut a).put_span16(32, 7, &px);
        Slow(LinearSurface(&mut b)).put_span16(32, 7, &px);
        assert_eq!(a, b);
        assert_eq!(a[7 * WIDTH + 33].to_le_bytes(), [4, 5, 6, 7]);
    }
}
