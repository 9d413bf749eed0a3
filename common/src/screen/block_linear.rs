//! The frame as the display reads it: 1280×720 RGBA8888 in the block-linear layout with
//! 16Bx2 sectors and blocks of 16 GOBs (screen-output.md §1e). A GOB is 64 bytes × 8 rows
//! (512 bytes); a block is 16 GOBs stacked vertically (64 bytes × 128 rows, 8192 bytes);
//! blocks run left to right, then down. Inside a GOB, 16-byte sectors (4 pixels) are
//! ordered so that byte x of row y lands at
//! `((x%64)/32)·256 + ((y%8)/2)·64 + ((x%32)/16)·32 + (y%2)·16 + x%16`.
//!
//! Followed: libnx `nx/source/display/framebuffer.c` `_convertToBlocklinear` (the GOB and
//! block order) and `_convertGobTo16Bx2` (the sector order inside a GOB: swizzled index bits
//! 43210 come from x5, y2, y1, x4, y0); aarch64-switch-rs/nx `UnbufferedCanvas::
//! xy_to_gob_pixel_offset` computes the same.

use super::surface::{SPAN, SPAN_BYTES, Surface};
use super::{ALIGNED_HEIGHT, BLOCK_HEIGHT, BYTES_PER_PIXEL, Colour, FRAME_SIZE, PITCH};

/// GOB width in bytes.
pub const GOB_WIDTH: usize = 64;
/// GOB height in rows.
pub const GOB_HEIGHT: usize = 8;
/// Bytes of one GOB.
pub const GOB_SIZE: usize = GOB_WIDTH * GOB_HEIGHT;
/// Bytes of one block (16 GOBs).
pub const BLOCK_SIZE: usize = GOB_SIZE * (BLOCK_HEIGHT / GOB_HEIGHT);

static_assertions::const_assert_eq!(GOB_SIZE, 512);
static_assertions::const_assert_eq!(BLOCK_SIZE, 8192);
static_assertions::const_assert_eq!(FRAME_SIZE % BLOCK_SIZE, 0);
// One span of the console (16 pixels at a multiple of 16) is exactly one GOB row.
static_assertions::const_assert_eq!(SPAN_BYTES, GOB_WIDTH);

/// Where byte `x_bytes` (0 ≤ x_bytes < [`PITCH`]) of row `y` (0 ≤ y < [`ALIGNED_HEIGHT`])
/// lies in the frame (screen-output.md §1e formula, pitch 5120, 128-row blocks).
pub const fn byte_offset(x_bytes: usize, y: usize) -> usize {
    let blocks_per_row = PITCH / GOB_WIDTH;
    (y / BLOCK_HEIGHT) * blocks_per_row * BLOCK_SIZE
        + (x_bytes / GOB_WIDTH) * BLOCK_SIZE
        + ((y % BLOCK_HEIGHT) / GOB_HEIGHT) * GOB_SIZE
        + ((x_bytes % 64) / 32) * 256
        + ((y % 8) / 2) * 64
        + ((x_bytes % 32) / 16) * 32
        + (y % 2) * 16
        + x_bytes % 16
}

/// Offsets, from the start of a GOB row, of the four 16-byte sectors holding bytes 0-15,
/// 16-31, 32-47 and 48-63 of that row (the x terms of [`byte_offset`]).
const SECTORS: [usize; 4] = [0, 32, 256, 288];

/// A frame of [`FRAME_SIZE`] bytes in the block-linear layout. A shorter slice drops what
/// does not fit, never panics.
pub struct BlockLinearSurface<'a>(pub &'a mut [u8]);

impl BlockLinearSurface<'_> {
    /// The pixel at (`x`, `y`), None outside the frame.
    pub fn get(&self, x: usize, y: usize) -> Option<Colour> {
        if x >= PITCH / BYTES_PER_PIXEL || y >= ALIGNED_HEIGHT {
            return None;
        }
        let off = byte_offset(x * BYTES_PER_PIXEL, y);
        let p = self.0.get(off..off + BYTES_PER_PIXEL)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(p);
        Some(Colour::from_bytes(b))
    }

    /// Sets every pixel of the frame, the padding rows included, to `c` (one colour
    /// everywhere needs no swizzle).
    pub fn fill(&mut self, c: Colour) {
        let b = c.bytes();
        for p in self.0.chunks_exact_mut(BYTES_PER_PIXEL) {
            p.copy_from_slice(&b);
        }
    }
}

impl Surface for BlockLinearSurface<'_> {
    fn put(&mut self, x: usize, y: usize, c: Colour) {
        if x >= PITCH / BYTES_PER_PIXEL || y >= ALIGNED_HEIGHT {
            return;
        }
        let off = byte_offset(x * BYTES_PER_PIXEL, y);
        if let Some(p) = self.0.get_mut(off..off + BYTES_PER_PIXEL) {
            p.copy_from_slice(&c.bytes());
        }
    }

    /// A span at a multiple of 16 pixels is one GOB row: four 16-byte copies.
    fn put_span16(&mut self, x: usize, y: usize, px: &[u8; SPAN_BYTES]) {
        if !x.is_multiple_of(SPAN) || x >= PITCH / BYTES_PER_PIXEL || y >= ALIGNED_HEIGHT {
            // Not aligned (or outside): pixel by pixel, each clipped.
            for (i, p) in px.chunks_exact(BYTES_PER_PIXEL).enumerate() {
                let mut b = [0u8; 4];
                b.copy_from_slice(p);
                self.put(x + i, y, Colour::from_bytes(b));
            }
            return;
        }
        let base = byte_offset(x * BYTES_PER_PIXEL, y);
        for (sector, src) in SECTORS.iter().zip(px.chunks_exact(16)) {
            let off = base + sector;
            if let Some(dst) = self.0.get_mut(off..off + 16) {
                dst.copy_from_slice(src);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::{HEIGHT, WIDTH};
    use alloc::vec;
    use alloc::vec::Vec;

    extern crate alloc;

    /// libnx's swizzle, restated as a loop over GOBs (`_convertToBlocklinear`) and over the
    /// 32 sectors of a GOB (`_convertGobTo16Bx2`): returns, for each output offset, the
    /// linear (x_bytes, y) it takes its byte from.
    fn libnx_order() -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(FRAME_SIZE);
        let width_blocks = PITCH / 64;
        let height_blocks = ALIGNED_HEIGHT / 128;
        for block_y in 0..height_blocks {
            for block_x in 0..width_blocks {
                for gob_y in 0..16 {
                    let x0 = block_x * 64;
                    let y0 = block_y * 128 + gob_y * 8;
                    for i in 0..32usize {
                        let y = ((i >> 1) & 0x06) | (i & 0x01);
                        let x = ((i << 3) & 0x10) | ((i << 1) & 0x20);
                        for o in 0..16 {
                            out.push((x0 + x + o, y0 + y));
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn byte_offset_is_libnx_convert_gob_to_16bx2_order() {
        let order = libnx_order();
        assert_eq!(order.len(), FRAME_SIZE);
        for (off, &(x, y)) in order.iter().enumerate() {
            assert_eq!(byte_offset(x, y), off, "x_bytes {x} y {y}");
        }
    }

    #[test]
    fn byte_offset_worked_examples() {
        // Inside a GOB: the next 16 bytes of a row are 32 further on, the row below 16.
        assert_eq!(byte_offset(0, 0), 0);
        assert_eq!(byte_offset(15, 0), 15);
        assert_eq!(byte_offset(0, 1), 16);
        assert_eq!(byte_offset(16, 0), 32);
        assert_eq!(byte_offset(0, 2), 64);
        assert_eq!(byte_offset(32, 0), 256);
        // The next GOB down, the next block right, the next block row.
        assert_eq!(byte_offset(0, 8), 512);
        assert_eq!(byte_offset(64, 0), 8192);
        assert_eq!(byte_offset(0, 128), 80 * 8192);
        // The last byte of the padded frame.
        assert_eq!(byte_offset(PITCH - 1, ALIGNED_HEIGHT - 1), FRAME_SIZE - 1);
        // Pixel (1279, 719): the last shown pixel.
        assert_eq!(byte_offset(1279 * 4, 719), 5 * 80 * 8192 + 79 * 8192 + 9 * 512 + 256 + 3 * 64 + 32 + 16 + 12);
    }

    #[test]
    fn put_and_get_round_trip_through_the_swizzle() {
        let mut frame = vec![0u8; FRAME_SIZE];
        let mut s = BlockLinearSurface(&mut frame);
        s.put(17, 9, Colour { r: 1, g: 2, b: 3, a: 4 });
        assert_eq!(s.get(17, 9), Some(Colour { r: 1, g: 2, b: 3, a: 4 }));
        let off = byte_offset(17 * 4, 9);
        assert_eq!(&frame[off..off + 4], &[1, 2, 3, 4]);
        assert_eq!(frame.iter().filter(|b| **b != 0).count(), 4);
    }

    #[test]
    fn the_gob_row_fast_path_equals_pixel_by_pixel() {
        let px: [u8; SPAN_BYTES] = core::array::from_fn(|i| (i + 1) as u8);
        for (x, y) in [(0, 0), (16, 1), (1264, 719), (640, 130), (8, 3)] {
            let mut fast = vec![0u8; FRAME_SIZE];
            BlockLinearSurface(&mut fast).put_span16(x, y, &px);
            let mut slow = vec![0u8; FRAME_SIZE];
            let mut s = BlockLinearSurface(&mut slow);
            for (i, p) in px.chunks_exact(4).enumerate() {
                s.put(x + i, y, Colour::from_bytes([p[0], p[1], p[2], p[3]]));
            }
            assert!(fast == slow, "span at ({x}, {y})");
        }
    }

    #[test]
    fn fill_sets_every_pixel() {
        let mut frame = vec![0u8; FRAME_SIZE];
        let mut s = BlockLinearSurface(&mut frame);
        s.fill(Colour::RED);
        assert_eq!(s.get(WIDTH - 1, HEIGHT - 1), Some(Colour::RED));
        assert_eq!(s.get(0, ALIGNED_HEIGHT - 1), Some(Colour::RED));
    }

    #[test]
    fn outside_the_frame_is_ignored() {
        let mut frame = vec![0u8; FRAME_SIZE];
        let mut s = BlockLinearSurface(&mut frame);
        s.put(WIDTH, 0, Colour::WHITE);
        s.put(0, ALIGNED_HEIGHT, Colour::WHITE);
        s.put_span16(0, ALIGNED_HEIGHT, &[0xFF; SPAN_BYTES]);
        assert_eq!(s.get(WIDTH, 0), None);
        assert!(frame.iter().all(|b| *b == 0));
        let mut short = [0u8; 100];
        let mut s = BlockLinearSurface(&mut short);
        s.put(100, 100, Colour::WHITE);
        s.put_span16(0, 0, &[0xFF; SPAN_BYTES]);
        s.put_span16(1264, 700, &[0xFF; SPAN_BYTES]);
        assert_eq!(s.get(1264, 700), None);
    }
}
