//! The pointer buffer during one request: locating the X payloads the kernel copied into
//! it, and carving out regions from its top (`horizon-ipc.md` §3.3, §5.1; design.md
//! "Data flow of one request" step 3).
//!
//! The pointer buffer is addressed two ways: by the **guest address** the kernel writes
//! into X descriptors (the address the receive list announced) and by **offset** into
//! the `&mut [u8]` the server holds. [`PointerBufferRange`] maps one to the other and rejects
//! any X that does not lie inside it.
//!
//! Out regions are carved like libstratosphere's `ProcessBuffers` (§5.1): `head` starts
//! at the end of the buffer and each carve sets `head = AlignDown(head − size, 0x10)`;
//! if `head` drops below `tail` (the end of the highest input X) the request fails with
//! PointerBufferTooSmall 0x11a0b. Alignment is of the *guest address*, like the kernel's
//! (§3.3: "AlignUp applies to the absolute address").
#![forbid(unsafe_code)]

use crate::hipc::POINTER_TRANSFER_BUFFER_ALIGNMENT;
use crate::result::ResultCode;

use super::{POINTER_BUFFER_TOO_SMALL, X_OUTSIDE_POINTER_BUFFER};

/// A byte range of the pointer buffer: `offset..offset + len` in the server's slice,
/// `guest_addr..guest_addr + len` for the kernel.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Region {
    /// Offset inside the pointer buffer slice.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
    /// Guest address of the first byte.
    pub guest_addr: u64,
}

impl Region {
    /// The empty region the kernel describes a zero-size X with: `{address 0, size 0}`
    /// (§3.3 "Zero-size X").
    pub const EMPTY: Region = Region { offset: 0, len: 0, guest_addr: 0 };

    /// One past the last offset (`offset + len`, saturating: a region is only built
    /// after its end was checked to lie inside the buffer).
    pub const fn end(&self) -> usize {
        self.offset.saturating_add(self.len)
    }

    /// True for a zero-length region.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The guest range of the pointer buffer, `[base, base + size)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PointerBufferRange {
    base: u64,
    size: usize,
    end: u64,
}

impl PointerBufferRange {
    /// `None` when `base + size` overflows.
    pub const fn new(base: u64, size: usize) -> Option<PointerBufferRange> {
        let end = match (base as u128).checked_add(size as u128) {
            Some(end) if end <= u64::MAX as u128 => end as u64,
            _ => return None,
        };
        Some(PointerBufferRange { base, size, end })
    }

    /// Guest address of the first byte.
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// Size in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// One past the last guest address.
    pub const fn end(&self) -> u64 {
        self.end
    }

    /// The region of an X descriptor `{addr, size}` as the kernel wrote it.
    ///
    /// A zero-size X is [`Region::EMPTY`] whatever its address (the kernel writes
    /// address 0 for it, §3.3). Otherwise the whole `[addr, addr + size)` must lie inside
    /// the buffer, else [`X_OUTSIDE_POINTER_BUFFER`].
    pub fn locate(&self, addr: u64, size: u64) -> Result<Region, ResultCode> {
        if size == 0 {
            return Ok(Region::EMPTY);
        }
        let end = addr.checked_add(size).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        if addr < self.base || end > self.end {
            return Err(X_OUTSIDE_POINTER_BUFFER);
        }
        let offset = usize::try_from(addr - self.base).map_err(|_| X_OUTSIDE_POINTER_BUFFER)?;
        let len = usize::try_from(size).map_err(|_| X_OUTSIDE_POINTER_BUFFER)?;
        Ok(Region { offset, len, guest_addr: addr })
    }

    /// The region at `offset..offset + len` of the buffer, if it lies inside.
    pub fn region_at(&self, offset: usize, len: usize) -> Option<Region> {
        let end = offset.checked_add(len)?;
        if end > self.size {
            return None;
        }
        let guest_addr = self.base.checked_add(u64::try_from(offset).ok()?)?;
        Some(Region { offset, len, guest_addr })
    }
}

const ALIGN: u64 = POINTER_TRANSFER_BUFFER_ALIGNMENT;

const fn align_down(x: u64) -> u64 {
    x & !(ALIGN - 1)
}

/// Carves out regions from the top of the pointer buffer for one request.
///
/// Build it with the end of the input data ([`Carver::new`] takes the highest end of the
/// request's X regions), then [`Carver::carve`] each out-pointer in C index order.
#[derive(Clone, Copy, Debug)]
pub struct Carver {
    /// The range's base and end (what carving reads of it).
    base: u64,
    end: u64,
    /// Guest address one past the highest input byte (`base` when there is no input).
    tail: u64,
    /// Guest address of the lowest carved byte (`end` before the first carve).
    head: u64,
}

impl Carver {
    /// A carver over `range` whose input data ends at offset `input_end` (the maximum
    /// of `Region::end` over the input X; 0 when there is none). `input_end` past the
    /// buffer is clamped to its size (a located region never ends there).
    pub fn new(range: PointerBufferRange, input_end: usize) -> Carver {
        let input_end = input_end.min(range.size());
        // input_end <= size, and base + size did not overflow (PointerBufferRange::new).
        let tail = range.base().wrapping_add(input_end as u64);
        Carver { base: range.base(), end: range.end(), tail, head: range.end() }
    }

    /// Guest address of the buffer's first byte.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The range it carves from.
    pub fn range(&self) -> PointerBufferRange {
        // base <= end, and the range was valid when the carver was built.
        PointerBufferRange { base: self.base, size: self.end.wrapping_sub(self.base) as usize, end: self.end }
    }

    /// Carves `size` bytes below the previous carve, at a 16-byte-aligned guest address.
    ///
    /// A zero size carves nothing and returns [`Region::EMPTY`] (there is nothing to
    /// write, so nothing can overlap). Otherwise the new head is
    /// `AlignDown(head − size, 0x10)` and must not lie below the input tail, else
    /// [`POINTER_BUFFER_TOO_SMALL`] (0x11a0b).
    pub fn carve(&mut self, size: usize) -> Result<Region, ResultCode> {
        if size == 0 {
            return Ok(Region::EMPTY);
        }
        let size64 = u64::try_from(size).map_err(|_| POINTER_BUFFER_TOO_SMALL)?;
        let below = self.head.checked_sub(size64).ok_or(POINTER_BUFFER_TOO_SMALL)?;
        let head = align_down(below);
        if head < self.tail {
            return Err(POINTER_BUFFER_TOO_SMALL);
        }
        // tail >= base, so head - base cannot wrap; head + size <= old head <= end.
        let offset = usize::try_from(head - self.base).map_err(|_| POINTER_BUFFER_TOO_SMALL)?;
        self.head = head;
        Ok(Region { offset, len: size, guest_addr: head })
    }

    /// Bytes of the buffer this request uses: the input data (from the start up to the
    /// tail) plus the carved regions (from the head to the end).
    pub fn bytes_used(&self) -> u64 {
        // base <= tail <= head <= end (new clamps the tail, carve keeps head >= tail):
        // neither difference wraps and their sum is at most the buffer's size.
        let input = self.tail.wrapping_sub(self.base);
        let carved = self.end.wrapping_sub(self.head);
        input.wrapping_add(carved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carve_rounds_the_guest_address_down_to_16() {
        // Entry 0x1008/0x100 (horizon-ipc.md §3.3 example): end 0x1108.
        let range = PointerBufferRange::new(0x1008, 0x100).unwrap();
        let mut c = Carver::new(range, 0);
        let r = c.carve(0x13).unwrap();
        assert_eq!(r.guest_addr, 0x10f0); // AlignDown(0x1108 - 0x13 = 0x10f5)
        assert_eq!(r.offset, 0xe8);
        assert_eq!(c.bytes_used(), 0x18);
    }
}
