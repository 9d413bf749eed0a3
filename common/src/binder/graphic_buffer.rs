//! The buffer a slot displays, as SET_PREALLOCATED_BUFFER and REQUEST_BUFFER carry it: the
//! flattened NvGraphicBuffer ("GBFR", 0x16C bytes; screen-output.md §1d).
//!
//! Layout: the 0x28-byte Android header libnx `buffer_producer.c` `bqSetPreallocatedBuffer`
//! writes (magic 'GBFR', width, height, stride, format, usage, pid 42, refcount 0, numFds
//! 0, numInts 81), then bytes 0x0C..0x150 of libnx's `NvGraphicBuffer`
//! (`nx/include/switch/nvidia/graphic_buffer.h`): a GBFR offset is the NvGraphicBuffer
//! offset + 0x1C. The values of [`GraphicBuffer::framebuffer`] are those of libnx
//! `framebuffer.c` `framebufferCreate` for one 1280×720 RGBA8888 block-linear slot. Eden
//! reads the same bytes as its `NvGraphicBuffer` (`nvnflinger/ui/graphic_buffer.h`,
//! asserted 0x16C: buffer_id at 0x2C, external_format at 0x48, handle at 0x74, offset at
//! 0x78).

use super::{get_u32, get_u64, put_u32, put_u64};
use crate::screen;

/// Bytes of the flattened buffer.
pub const SIZE: usize = 0x16C;
/// Bytes of the Android header before the NvGraphicBuffer words.
pub const HEADER_SIZE: usize = 0x28;
/// Bytes of libnx's `NvGraphicBuffer` (its 0xC-byte native-handle header is not sent).
pub const NV_GRAPHIC_BUFFER_SIZE: usize = 0x150;
/// The header's numInts: the NvGraphicBuffer after its native-handle header, in words
/// (Ryujinx throws unless it is 81).
pub const NUM_INTS: u32 = ((NV_GRAPHIC_BUFFER_SIZE - 0xC) / 4) as u32;

static_assertions::const_assert_eq!(NUM_INTS, 81);
static_assertions::const_assert_eq!(HEADER_SIZE + NV_GRAPHIC_BUFFER_SIZE - 0xC, SIZE);

/// 'GBFR' (libnx `bqSetPreallocatedBuffer`).
pub const MAGIC: u32 = 0x4742_4652;
/// NvGraphicBuffer's own magic (libnx `framebufferCreate`).
pub const NV_MAGIC: u32 = 0xDAFF_CAFF;
/// The pid libnx writes, as official software's getpid() returns.
pub const PID: u32 = 42;
/// `PIXEL_FORMAT_RGBA_8888` (libnx `display/types.h`).
pub const FORMAT_RGBA_8888: u32 = 1;
/// GRALLOC_USAGE_HW_COMPOSER | HW_RENDER | HW_TEXTURE (libnx `framebufferCreate`).
pub const USAGE: u32 = 0x800 | 0x200 | 0x100;
/// `NvColorFormat_A8B8G8R8` (libnx `nvidia/types.h`).
pub const COLOR_FORMAT_A8B8G8R8: u64 = 0x01_0053_2120;
/// `NvLayout_BlockLinear`.
pub const LAYOUT_BLOCK_LINEAR: u32 = 3;
/// `NvKind_Generic_16BX2`.
pub const KIND_GENERIC_16BX2: u32 = 0xFE;

/// GBFR offsets of the fields this module writes.
pub mod offset {
    /// 'GBFR'.
    pub const MAGIC: usize = 0x00;
    /// Width in pixels.
    pub const WIDTH: usize = 0x04;
    /// Height in pixels.
    pub const HEIGHT: usize = 0x08;
    /// Stride in pixels.
    pub const STRIDE: usize = 0x0C;
    /// Android pixel format.
    pub const FORMAT: usize = 0x10;
    /// Gralloc usage.
    pub const USAGE: usize = 0x14;
    /// pid (42).
    pub const PID: usize = 0x18;
    /// refcount (0).
    pub const REFCOUNT: usize = 0x1C;
    /// numFds (0).
    pub const NUM_FDS: usize = 0x20;
    /// numInts (81).
    pub const NUM_INTS: usize = 0x24;
    /// NvGraphicBuffer `unk0` (-1).
    pub const UNK0: usize = 0x28;
    /// The nvmap id from GET_ID (Eden `buffer_id`, Ryujinx `NvMapId`).
    pub const NVMAP_ID: usize = 0x2C;
    /// NvGraphicBuffer magic 0xDAFFCAFF.
    pub const NV_MAGIC: usize = 0x34;
    /// NvGraphicBuffer pid (42).
    pub const NV_PID: usize = 0x38;
    /// NvGraphicBuffer usage.
    pub const NV_USAGE: usize = 0x40;
    /// NvGraphicBuffer format.
    pub const NV_FORMAT: usize = 0x44;
    /// ext_format (Eden's pixel format).
    pub const EXT_FORMAT: usize = 0x48;
    /// NvGraphicBuffer stride in pixels.
    pub const NV_STRIDE: usize = 0x4C;
    /// total_size in bytes.
    pub const TOTAL_SIZE: usize = 0x50;
    /// num_planes (1).
    pub const NUM_PLANES: usize = 0x54;
    /// plane 0 width.
    pub const PLANE_WIDTH: usize = 0x5C;
    /// plane 0 height.
    pub const PLANE_HEIGHT: usize = 0x60;
    /// plane 0 color_format (u64; Ryujinx).
    pub const PLANE_COLOR_FORMAT: usize = 0x64;
    /// plane 0 layout.
    pub const PLANE_LAYOUT: usize = 0x6C;
    /// plane 0 pitch in bytes.
    pub const PLANE_PITCH: usize = 0x70;
    /// plane 0 nvmap handle (0: Ryujinx then uses the nvmap id; Eden `handle`).
    pub const PLANE_HANDLE: usize = 0x74;
    /// plane 0 offset in the nvmap buffer (Eden, Ryujinx).
    pub const PLANE_OFFSET: usize = 0x78;
    /// plane 0 kind.
    pub const PLANE_KIND: usize = 0x7C;
    /// plane 0 block_height_log2 (Ryujinx).
    pub const PLANE_BLOCK_HEIGHT_LOG2: usize = 0x80;
    /// plane 0 size (u64).
    pub const PLANE_SIZE: usize = 0x94;
}

/// The fields of a flattened NvGraphicBuffer that the client sets and the bench reads.
/// Every other word of the 0x16C bytes is 0.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GraphicBuffer {
    /// Width in pixels (header and plane).
    pub width: u32,
    /// Height in pixels (header and plane).
    pub height: u32,
    /// Stride in pixels (header and NvGraphicBuffer).
    pub stride: u32,
    /// Android pixel format (header, format and ext_format).
    pub format: u32,
    /// Gralloc usage (header and NvGraphicBuffer).
    pub usage: u32,
    /// The nvmap id of the memory holding the pixels.
    pub nvmap_id: u32,
    /// Bytes of one buffer (total_size and plane size).
    pub total_size: u32,
    /// Plane 0's colour format.
    pub color_format: u64,
    /// Plane 0's layout.
    pub layout: u32,
    /// Plane 0's pitch in bytes.
    pub pitch: u32,
    /// Plane 0's nvmap handle (0 in libnx).
    pub plane_handle: u32,
    /// Plane 0's offset in the nvmap memory (slot × frame size).
    pub offset: u32,
    /// Plane 0's kind.
    pub kind: u32,
    /// Plane 0's block height, log2 in GOBs.
    pub block_height_log2: u32,
}

impl GraphicBuffer {
    /// Slot `slot` of a framebuffer of [`crate::screen::FRAME_SIZE`]-byte slots in the nvmap
    /// memory `nvmap_id`, as libnx `framebufferCreate` describes it for 1280×720 RGBA8888.
    pub const fn framebuffer(nvmap_id: u32, slot: u32) -> GraphicBuffer {
        GraphicBuffer {
            width: screen::WIDTH as u32,
            height: screen::HEIGHT as u32,
            stride: (screen::PITCH / screen::BYTES_PER_PIXEL) as u32,
            format: FORMAT_RGBA_8888,
            usage: USAGE,
            nvmap_id,
            total_size: screen::FRAME_SIZE as u32,
            color_format: COLOR_FORMAT_A8B8G8R8,
            layout: LAYOUT_BLOCK_LINEAR,
            pitch: screen::PITCH as u32,
            plane_handle: 0,
            offset: slot.wrapping_mul(screen::FRAME_SIZE as u32),
            kind: KIND_GENERIC_16BX2,
            block_height_log2: screen::BLOCK_HEIGHT_LOG2,
        }
    }

    /// The flattened bytes (every field not named here 0, as libnx's zeroed struct).
    pub fn to_bytes(&self) -> [u8; SIZE] {
        use offset as o;
        let mut b = [0u8; SIZE];
        put_u32(&mut b, o::MAGIC, MAGIC);
        put_u32(&mut b, o::WIDTH, self.width);
        put_u32(&mut b, o::HEIGHT, self.height);
        put_u32(&mut b, o::STRIDE, self.stride);
        put_u32(&mut b, o::FORMAT, self.format);
        put_u32(&mut b, o::USAGE, self.usage);
        put_u32(&mut b, o::PID, PID);
        put_u32(&mut b, o::NUM_INTS, NUM_INTS);
        put_u32(&mut b, o::UNK0, u32::MAX);
        put_u32(&mut b, o::NVMAP_ID, self.nvmap_id);
        put_u32(&mut b, o::NV_MAGIC, NV_MAGIC);
        put_u32(&mut b, o::NV_PID, PID);
        put_u32(&mut b, o::NV_USAGE, self.usage);
        put_u32(&mut b, o::NV_FORMAT, self.format);
        put_u32(&mut b, o::EXT_FORMAT, self.format);
        put_u32(&mut b, o::NV_STRIDE, self.stride);
        put_u32(&mut b, o::TOTAL_SIZE, self.total_size);
        put_u32(&mut b, o::NUM_PLANES, 1);
        put_u32(&mut b, o::PLANE_WIDTH, self.width);
        put_u32(&mut b, o::PLANE_HEIGHT, self.height);
        put_u64(&mut b, o::PLANE_COLOR_FORMAT, self.color_format);
        put_u32(&mut b, o::PLANE_LAYOUT, self.layout);
        put_u32(&mut b, o::PLANE_PITCH, self.pitch);
        put_u32(&mut b, o::PLANE_HANDLE, self.plane_handle);
        put_u32(&mut b, o::PLANE_OFFSET, self.offset);
        put_u32(&mut b, o::PLANE_KIND, self.kind);
        put_u32(&mut b, o::PLANE_BLOCK_HEIGHT_LOG2, self.block_height_log2);
        put_u64(&mut b, o::PLANE_SIZE, u64::from(self.total_size));
        b
    }

    /// Reads the fields back from flattened bytes (None when shorter than [`SIZE`]). The
    /// header's width/height/stride/format/usage are taken, as the emulators compare those.
    pub fn from_bytes(b: &[u8]) -> Option<GraphicBuffer> {
        use offset as o;
        if b.len() < SIZE {
            return None;
        }
        Some(GraphicBuffer {
            width: get_u32(b, o::WIDTH)?,
            height: get_u32(b, o::HEIGHT)?,
            stride: get_u32(b, o::STRIDE)?,
            format: get_u32(b, o::FORMAT)?,
            usage: get_u32(b, o::USAGE)?,
            nvmap_id: get_u32(b, o::NVMAP_ID)?,
            total_size: get_u32(b, o::TOTAL_SIZE)?,
            color_format: get_u64(b, o::PLANE_COLOR_FORMAT)?,
            layout: get_u32(b, o::PLANE_LAYOUT)?,
            pitch: get_u32(b, o::PLANE_PITCH)?,
            plane_handle: get_u32(b, o::PLANE_HANDLE)?,
            offset: get_u32(b, o::PLANE_OFFSET)?,
            kind: get_u32(b, o::PLANE_KIND)?,
            block_height_log2: get_u32(b, o::PLANE_BLOCK_HEIGHT_LOG2)?,
        })
    }

    /// The header's magic and numInts of flattened bytes, to check a GBFR (Ryujinx throws
    /// unless numInts is 81).
    pub fn header_magic_and_num_ints(b: &[u8]) -> Option<(u32, u32)> {
        Some((get_u32(b, offset::MAGIC)?, get_u32(b, offset::NUM_INTS)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn the_framebuffer_gbfr_matches_the_table_of_screen_output_1d() {
        let b = GraphicBuffer::framebuffer(7, 1).to_bytes();
        let want: &[(usize, u32)] = &[
            (0x00, 0x4742_4652),
            (0x04, 1280),
            (0x08, 720),
            (0x0C, 1280),
            (0x10, 1),
            (0x14, 0xB00),
            (0x18, 42),
            (0x1C, 0),
            (0x20, 0),
            (0x24, 81),
            (0x28, 0xFFFF_FFFF),
            (0x2C, 7),
            (0x30, 0),
            (0x34, 0xDAFF_CAFF),
            (0x38, 42),
            (0x3C, 0),
            (0x40, 0xB00),
            (0x44, 1),
            (0x48, 1),
            (0x4C, 1280),
            (0x50, 0x3C_0000),
            (0x54, 1),
            (0x58, 0),
            (0x5C, 1280),
            (0x60, 720),
            (0x64, 0x0053_2120),
            (0x68, 0x01),
            (0x6C, 3),
            (0x70, 5120),
            (0x74, 0),
            (0x78, 0x3C_0000),
            (0x7C, 0xFE),
            (0x80, 4),
            (0x84, 0),
            (0x88, 0),
            (0x8C, 0),
            (0x90, 0),
            (0x94, 0x3C_0000),
            (0x98, 0),
        ];
        for &(at, v) in want {
            assert_eq!(word(&b, at), v, "GBFR offset {at:#x}");
        }
        assert!(b[0x9C..].iter().all(|x| *x == 0), "compression words, planes 1-2 and the last u64 are 0");
        assert_eq!(b.len(), 0x16C);
    }

    #[test]
    fn a_gbfr_reads_back_and_a_short_one_is_none() {
        let g = GraphicBuffer::framebuffer(3, 0);
        let b = g.to_bytes();
        assert_eq!(GraphicBuffer::from_bytes(&b), Some(g));
        assert_eq!(GraphicBuffer::from_bytes(&b[..SIZE - 1]), None);
        assert_eq!(GraphicBuffer::header_magic_and_num_ints(&b), Some((MAGIC, 81)));
    }
}
