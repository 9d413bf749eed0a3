//! The two framebuffers (slots 0 and 1) in one page-aligned heap buffer, as libnx
//! `framebufferCreate` lays them out (one nvmap buffer, slot i at i x 0x3C0000), drawn with
//! `common::screen` in the block-linear 16Bx2 layout (screen-output.md §1e). Each slot is
//! kept up to date incrementally: it remembers the rows that changed since it was last
//! drawn, and a draw renders only those (the whole page the first time), then cleans the
//! data cache over the bytes it wrote, before the slot is queued.

use core::ops::Range;

use rt::memory::{PageBuffer, clean_data_cache};
use xcbuf_common::screen::font::{CELL_HEIGHT, ROWS};
use xcbuf_common::screen::{BLOCK_HEIGHT, BlockLinearSurface, Console, FRAME_SIZE, PITCH};
use xcbuf_rt as rt;

use super::{Step, StepResult};

/// Slots in the buffer queue.
pub const SLOTS: usize = 2;

/// What a slot still has to draw.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pending {
    /// Never drawn: the whole page.
    All,
    /// These cell rows.
    Rows(usize, usize),
    Nothing,
}

/// The framebuffer memory and what each slot has to redraw.
pub struct Framebuffers {
    pub memory: PageBuffer,
    pending: [Pending; SLOTS],
}

impl Framebuffers {
    /// `SLOTS` frames of [`FRAME_SIZE`] bytes, zeroed, page-aligned.
    pub fn new() -> StepResult<Framebuffers> {
        let memory = PageBuffer::new(SLOTS * FRAME_SIZE).step("framebuffer allocation")?;
        Ok(Framebuffers { memory, pending: [Pending::All; SLOTS] })
    }

    /// Cell rows `rows` changed: every slot redraws them.
    pub fn changed(&mut self, rows: Range<usize>) {
        if rows.is_empty() {
            return;
        }
        for p in &mut self.pending {
            *p = match *p {
                Pending::All => Pending::All,
                Pending::Nothing => Pending::Rows(rows.start, rows.end),
                Pending::Rows(s, e) => Pending::Rows(s.min(rows.start), e.max(rows.end)),
            };
        }
    }

    /// Brings `slot` up to date with `console` and cleans the cache over what it wrote.
    /// Returns the cell rows drawn.
    pub fn draw(&mut self, slot: usize, console: &Console) -> Range<usize> {
        let rows = match self.pending.get(slot).copied().unwrap_or(Pending::Nothing) {
            Pending::All => 0..ROWS,
            Pending::Rows(s, e) => s..e.min(ROWS),
            Pending::Nothing => 0..0,
        };
        if let Some(p) = self.pending.get_mut(slot) {
            *p = Pending::Nothing;
        }
        let start = slot * FRAME_SIZE;
        let Some(frame) = self.memory.as_mut_slice().get_mut(start..start + FRAME_SIZE) else { return 0..0 };
        if rows.is_empty() {
            return rows;
        }
        console.render_rows(rows.clone(), &mut BlockLinearSurface(frame));
        // Pixel rows y0..y1 lie in whole 128-row blocks, each PITCH * 128 contiguous bytes.
        let (y0, y1) = (rows.start * CELL_HEIGHT, rows.end * CELL_HEIGHT);
        let block = PITCH * BLOCK_HEIGHT;
        let bytes = (y0 / BLOCK_HEIGHT) * block..y1.div_ceil(BLOCK_HEIGHT) * block;
        if let Some(written) = frame.get(bytes.start..bytes.end.min(FRAME_SIZE)) {
            clean_data_cache(written);
        }
        rows
    }
}
