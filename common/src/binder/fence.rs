//! NvMultiFence (0x24 bytes): up to four {syncpoint id, value} pairs a buffer waits on
//! (libnx `nx/include/switch/nvidia/fence.h` `NvMultiFence`, `ioctl.h` `nvioctl_fence`;
//! Eden `nvnflinger/ui/fence.h` `Fence`, asserted 36 bytes). DEQUEUE returns one (the
//! release fence of the slot); QUEUE carries one (all zero from a CPU producer).

use super::{get_u32, put_u32};

/// One syncpoint wait: done once syncpoint `id` reaches `value`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct Fence {
    /// Syncpoint id (Eden's "no fence" uses u32::MAX, i.e. -1).
    pub id: u32,
    /// The value to wait for.
    pub value: u32,
}

/// Up to four fences; only the first `num_fences` count.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct MultiFence {
    /// How many of `fences` are valid (0..=4).
    pub num_fences: u32,
    /// The fences.
    pub fences: [Fence; 4],
}

static_assertions::assert_eq_size!(Fence, [u8; 8]);
static_assertions::assert_eq_size!(MultiFence, [u8; MultiFence::SIZE]);

impl MultiFence {
    /// Bytes on the wire.
    pub const SIZE: usize = 0x24;

    /// No fence, as a CPU producer queues and a fresh slot dequeues in libnx (all zero).
    pub const NONE: MultiFence = MultiFence { num_fences: 0, fences: [Fence { id: 0, value: 0 }; 4] };

    /// Eden's `Fence::NoFence`: count 0, every id -1.
    pub const EDEN_NO_FENCE: MultiFence = MultiFence { num_fences: 0, fences: [Fence { id: u32::MAX, value: 0 }; 4] };

    /// The valid fences (the first `num_fences`, at most 4).
    pub fn active(&self) -> &[Fence] {
        let n = (self.num_fences as usize).min(self.fences.len());
        self.fences.get(..n).unwrap_or(&[])
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        put_u32(&mut b, 0, self.num_fences);
        for (i, f) in self.fences.iter().enumerate() {
            put_u32(&mut b, 4 + 8 * i, f.id);
            put_u32(&mut b, 8 + 8 * i, f.value);
        }
        b
    }

    /// From the wire bytes; None when `b` is shorter than [`MultiFence::SIZE`].
    pub fn from_bytes(b: &[u8]) -> Option<MultiFence> {
        let mut m = MultiFence { num_fences: get_u32(b, 0)?, ..MultiFence::NONE };
        for (i, f) in m.fences.iter_mut().enumerate() {
            *f = Fence { id: get_u32(b, 4 + 8 * i)?, value: get_u32(b, 8 + 8 * i)? };
        }
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_fence_layout_is_count_then_four_id_value_pairs() {
        let m = MultiFence {
            num_fences: 2,
            fences: [Fence { id: 1, value: 2 }, Fence { id: 3, value: 4 }, Fence::default(), Fence::default()],
        };
        let b = m.to_bytes();
        assert_eq!(&b[..0x14], &[2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(MultiFence::from_bytes(&b), Some(m));
        assert_eq!(m.active(), &m.fences[..2]);
        assert_eq!(MultiFence::from_bytes(&b[..0x23]), None);
    }

    #[test]
    fn a_count_above_four_is_clamped() {
        let m = MultiFence { num_fences: 9, ..MultiFence::NONE };
        assert_eq!(m.active().len(), 4);
    }
}
