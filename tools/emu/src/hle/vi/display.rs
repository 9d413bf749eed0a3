//! The bench's display: displays, layers, their buffer queues, and a compositor that takes
//! each frame queued on a shown layer out of the owner's memory, de-swizzled to linear
//! RGBA, so `--screenshot` can write the last one.
//!
//! - Displays: "Default", "External", "Edid", "Internal", "Null", with ids 0..4 in that
//!   order (Eden `vi/container.cpp` creates them so; `display_list.h` numbers from 0).
//! - Layers: ids from 1 (Eden `layer_list.h`); each gets a buffer queue and two binder ids,
//!   consumer then producer, from 1 (Eden `surface_flinger.cpp` `CreateBufferQueue`,
//!   `hos_binder_driver_server.cpp` `RegisterBinder`). A managed layer (am's
//!   CreateManagedDisplayLayer) has the creating process id as owner ARUID; a stray layer
//!   (CreateStrayLayer) has none.
//! - Shown: only a layer with an owner. Ryujinx creates a stray layer with owner pid 0 and
//!   `Window.EnqueueFrameThreadSafe` drops every frame of a pid with no registered memory
//!   (screen-output.md §1f); Eden would show it. The bench follows Ryujinx: a stray
//!   layer's frames are never shown.
//! - A frame's memory: the nvmap object the GBFR names (the plane's handle when non-zero,
//!   else `nvmap_id`: Ryujinx `SurfaceFlinger.cs` `PostFrameBuffer`; Eden
//!   `hardware_composer.cpp` takes `BufferId()`), looked up among the layer owner's
//!   objects (Ryujinx `NvMapDeviceFile.GetMapFromHandle(layer.Owner, ...)`), plus the
//!   plane's offset.

use std::collections::BTreeMap;

use xcbuf_common::result::ResultCode;

use super::queue::{BufferQueue, QueuedFrame};
use super::results;
use crate::kernel::Kernel;
use crate::kernel::event::EventId;

/// The display names vi accepts (Eden `application_display_service.cpp` OpenDisplay).
pub const DISPLAY_NAMES: [&str; 5] = ["Default", "External", "Edid", "Internal", "Null"];

/// A8B8G8R8 (Ryujinx `ColorFormat.A8B8G8R8`; libnx `framebufferCreate` for RGBA8888).
pub const COLOR_FORMAT_A8B8G8R8: u64 = 0x01_0053_2120;
/// PixelFormat Rgba8888 (Eden's `external_format` for it).
pub const PIXEL_FORMAT_RGBA8888: i32 = 1;

/// One layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub id: u64,
    pub display_id: u64,
    /// The owner's ARUID (its process id); 0 for a stray layer.
    pub owner_aruid: u64,
    pub stray: bool,
    pub open: bool,
    pub consumer_binder: i32,
    pub producer_binder: i32,
}

impl Layer {
    /// Its frames reach the screen (see the module comment).
    pub fn is_shown(&self) -> bool {
        !self.stray && self.owner_aruid != 0
    }
}

/// A frame as shown: linear RGBA8, `width * 4` bytes per row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    pub layer: u64,
    pub frame_number: u64,
}

/// The display state vi, am and the binder share ([`super::super::HleShared::vi`]).
#[derive(Debug, Default)]
pub struct Compositor {
    pub layers: BTreeMap<u64, Layer>,
    /// Buffer queues by producer binder id.
    pub queues: BTreeMap<i32, BufferQueue>,
    /// Binder ids registered (consumer and producer), with (weak, strong) counts.
    pub binders: BTreeMap<i32, (i32, i32)>,
    /// The buffer event of each producer (GetNativeHandle), made on first request.
    pub native_events: BTreeMap<i32, EventId>,
    next_layer_id: u64,
    next_binder_id: i32,
    /// The last frame queued on a shown layer.
    pub last_shown: Option<Frame>,
    /// Frames queued on shown layers.
    pub frames_shown: u64,
    /// Why each frame that was not shown was not (stray layer, bad memory, format).
    pub not_shown: Vec<String>,
    /// The consumer releases a frame with a fence on [`RELEASE_SYNCPOINT`], as hardware's
    /// display does (`RunConfig::release_fences`); Eden and Ryujinx release with none.
    pub release_fences: bool,
}

/// The syncpoint the display's release fences use when `release_fences` is on (any id
/// below 192, Eden `syncpoint_manager.h` `MaxSyncPoints`).
pub const RELEASE_SYNCPOINT: u32 = 8;

impl Compositor {
    /// The id of display `name` (Eden `Container::OpenDisplay`: NotFound otherwise).
    pub fn display_id(name: &str) -> Option<u64> {
        DISPLAY_NAMES.iter().position(|n| *n == name).map(|i| i as u64)
    }

    fn new_layer(&mut self, display_id: u64, owner_aruid: u64, stray: bool) -> u64 {
        self.next_layer_id += 1;
        let consumer_binder = self.next_binder_id + 1;
        let producer_binder = self.next_binder_id + 2;
        self.next_binder_id += 2;
        self.binders.insert(consumer_binder, (0, 1));
        self.binders.insert(producer_binder, (0, 1));
        self.queues.insert(producer_binder, BufferQueue::default());
        let id = self.next_layer_id;
        let layer = Layer { id, display_id, owner_aruid, stray, open: false, consumer_binder, producer_binder };
        self.layers.insert(id, layer);
        id
    }

    /// am's CreateManagedDisplayLayer: a layer on "Default" owned by `owner_aruid` (Eden
    /// `display_layer_manager.cpp` `CreateManagedDisplayLayer`).
    pub fn create_managed_layer(&mut self, owner_aruid: u64) -> u64 {
        self.new_layer(0, owner_aruid, false)
    }

    /// CreateStrayLayer: a layer with no owner, opened at once (Eden `Container::CreateStrayLayer`:
    /// NotFound for an unknown display); (layer id, producer binder id).
    pub fn create_stray_layer(&mut self, display_id: u64) -> Result<(u64, i32), ResultCode> {
        if display_id >= DISPLAY_NAMES.len() as u64 {
            return Err(results::NOT_FOUND);
        }
        let id = self.new_layer(display_id, 0, true);
        let binder = self.open_layer(id, 0)?;
        Ok((id, binder))
    }

    /// Eden `Container::OpenLayerLocked`: NotFound for an unknown layer, OperationFailed
    /// when it is open already, PermissionDenied when `aruid` (the request's PID) is not
    /// its owner; its producer binder id.
    pub fn open_layer(&mut self, layer_id: u64, aruid: u64) -> Result<i32, ResultCode> {
        let layer = self.layers.get_mut(&layer_id).ok_or(results::NOT_FOUND)?;
        if layer.open {
            return Err(results::OPERATION_FAILED);
        }
        if layer.owner_aruid != aruid {
            return Err(results::PERMISSION_DENIED);
        }
        layer.open = true;
        Ok(layer.producer_binder)
    }

    /// Eden `Container::CloseLayerLocked`: NotFound / OperationFailed when not open.
    pub fn close_layer(&mut self, layer_id: u64) -> Result<(), ResultCode> {
        let layer = self.layers.get_mut(&layer_id).ok_or(results::NOT_FOUND)?;
        if !layer.open {
            return Err(results::OPERATION_FAILED);
        }
        layer.open = false;
        Ok(())
    }

    /// Eden `Container::DestroyStrayLayer`: close, then destroy (the queue and binders go).
    pub fn destroy_layer(&mut self, layer_id: u64) -> Result<(), ResultCode> {
        self.close_layer(layer_id)?;
        if let Some(layer) = self.layers.remove(&layer_id) {
            self.queues.remove(&layer.producer_binder);
            self.binders.remove(&layer.producer_binder);
            self.binders.remove(&layer.consumer_binder);
        }
        Ok(())
    }

    /// The layer whose producer is `binder`.
    pub fn layer_of_binder(&self, binder: i32) -> Option<&Layer> {
        self.layers.values().find(|l| l.producer_binder == binder)
    }
}

/// The consumer side of a QUEUE on producer `binder`: the compositor acquires the frame
/// (releasing the one it held) and, on a shown layer, reads and de-swizzles its pixels.
pub fn present(k: &mut Kernel, binder: i32, frame: QueuedFrame) {
    // The frame released now is done with at once: its fence's value is reached when the
    // client waits on it (the bench has no display that finishes later).
    let release_fence = match k.hle.shared.vi.release_fences {
        true => k.hle.shared.syncpoints.increment(RELEASE_SYNCPOINT).map(|value| fence_bytes(RELEASE_SYNCPOINT, value)),
        false => None,
    };
    if let Some(q) = k.hle.shared.vi.queues.get_mut(&binder) {
        q.acquire(frame.slot, release_fence);
    }
    let Some(layer) = k.hle.shared.vi.layer_of_binder(binder).cloned() else { return };
    match read_frame(k, &layer, &frame) {
        Ok(rgba) => {
            let b = &frame.buffer;
            let shown =
                Frame { width: b.width, height: b.height, rgba, layer: layer.id, frame_number: frame.frame_number };
            let vi = &mut k.hle.shared.vi;
            vi.last_shown = Some(shown);
            vi.frames_shown += 1;
        }
        Err(why) => {
            let line = format!("vi: frame {} of layer {} not shown: {why}", frame.frame_number, layer.id);
            k.trace_line(line.clone());
            k.hle.shared.vi.not_shown.push(line);
        }
    }
}

/// An NvMultiFence of one fence {id, value} (libnx `NvMultiFence`; Eden `ui/fence.h`).
fn fence_bytes(id: u32, value: u32) -> [u8; super::queue::FENCE_SIZE] {
    let mut f = [0u8; super::queue::FENCE_SIZE];
    f[0..4].copy_from_slice(&1u32.to_le_bytes());
    f[4..8].copy_from_slice(&id.to_le_bytes());
    f[8..12].copy_from_slice(&value.to_le_bytes());
    f
}

fn read_frame(k: &Kernel, layer: &Layer, frame: &QueuedFrame) -> Result<Vec<u8>, String> {
    if !layer.is_shown() {
        return Err("the layer has no owner ARUID (a stray layer; Ryujinx never shows one)".into());
    }
    // Eden `Container::OpenLayerLocked` puts a layer on its display's stack and
    // `CloseLayerLocked` takes it off; the composer draws only the stack.
    if !layer.open {
        return Err("the layer is not open (not on its display's stack)".into());
    }
    let b = &frame.buffer;
    if b.color_format != COLOR_FORMAT_A8B8G8R8 || b.ext_format != PIXEL_FORMAT_RGBA8888 {
        return Err(format!(
            "colour format {:#x} / external format {} (the bench shows A8B8G8R8 / RGBA8888 only)",
            b.color_format, b.ext_format
        ));
    }
    let handle = if b.plane_handle != 0 { b.plane_handle } else { b.nvmap_id };
    let buffer =
        k.hle.shared.nvmap.buffer(handle).ok_or(format!("nvmap handle {handle} is unknown or not allocated"))?;
    let owner_pid = k.processes.get(buffer.owner).map(|p| p.pid);
    if owner_pid != Some(layer.owner_aruid) {
        return Err(format!("nvmap handle {handle} is not the layer owner's (pid {:#x})", layer.owner_aruid));
    }
    let layout = SurfaceLayout {
        width: b.width,
        height: b.height,
        bytes_per_pixel: 4,
        pitch: b.pitch,
        block_height_log2: b.block_height_log2,
    };
    let size = layout.swizzled_size().ok_or("the plane's layout overflows")?;
    let end = u64::from(b.offset) + size;
    if end > u64::from(buffer.size) {
        return Err(format!(
            "plane offset {:#x} + {size:#x} bytes is past the nvmap object's {:#x}",
            b.offset, buffer.size
        ));
    }
    let mut bytes = vec![0u8; usize::try_from(size).map_err(|_| "size")?];
    k.processes[buffer.owner]
        .cpu
        .read(buffer.address + u64::from(b.offset), &mut bytes)
        .map_err(|_| format!("the owner's memory at {:#x} cannot be read", buffer.address))?;
    deswizzle(&bytes, &layout).ok_or_else(|| "the frame is smaller than its layout".into())
}

/// A block-linear surface's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SurfaceLayout {
    pub width: u32,
    pub height: u32,
    pub bytes_per_pixel: u32,
    /// Bytes per row (a multiple of the GOB width, 64, in practice).
    pub pitch: u32,
    /// GOBs per block, log2 (4 = 16 GOBs = 128 rows).
    pub block_height_log2: u32,
}

/// GOB: 64 bytes x 8 rows = 512 bytes (Eden `textures/decoders.h` GOB_SIZE_X/Y).
const GOB_WIDTH_SHIFT: u32 = 6;
const GOB_HEIGHT_SHIFT: u32 = 3;
const GOB_SIZE_SHIFT: u32 = GOB_WIDTH_SHIFT + GOB_HEIGHT_SHIFT;

impl SurfaceLayout {
    /// Bytes of the swizzled surface: whole blocks in both directions.
    pub fn swizzled_size(&self) -> Option<u64> {
        if self.block_height_log2 > 5 {
            return None;
        }
        let gobs_x = u64::from(self.pitch).div_ceil(1 << GOB_WIDTH_SHIFT);
        let block_rows = 1u64 << (GOB_HEIGHT_SHIFT + self.block_height_log2);
        let blocks_y = u64::from(self.height).div_ceil(block_rows);
        gobs_x.checked_mul(blocks_y)?.checked_mul(1 << (GOB_SIZE_SHIFT + self.block_height_log2))
    }

    /// Where byte `x` of row `y` lives in the swizzled surface. Inside a GOB the byte
    /// offset interleaves the coordinates: x bits 0-3 -> bits 0-3, x bit 4 -> bit 5, x bit 5
    /// -> bit 8, y bit 0 -> bit 4, y bit 1 -> bit 6, y bit 2 -> bit 7 (Eden
    /// `textures/decoders.h` SWIZZLE_X_BITS 0b100101111 / SWIZZLE_Y_BITS 0b011010000, used
    /// by `decoders.cpp` `SwizzleImpl`). GOBs stack `1 << block_height_log2` high into a
    /// block; blocks run left to right, then down (`SwizzleImpl`'s offset_x / offset_y).
    pub fn offset(&self, x: u32, y: u32) -> u64 {
        let in_gob = u64::from(
            (x & 0xF) | ((x & 0x10) << 1) | ((x & 0x20) << 3) | ((y & 1) << 4) | ((y & 2) << 5) | ((y & 4) << 5),
        );
        let bh = self.block_height_log2;
        let gobs_x = u64::from(self.pitch).div_ceil(1 << GOB_WIDTH_SHIFT);
        let block_size = gobs_x << (GOB_SIZE_SHIFT + bh);
        let gob_y = u64::from(y >> GOB_HEIGHT_SHIFT);
        let offset_y = (gob_y >> bh) * block_size + ((gob_y & ((1 << bh) - 1)) << GOB_SIZE_SHIFT);
        let offset_x = u64::from(x >> GOB_WIDTH_SHIFT) << (GOB_SIZE_SHIFT + bh);
        offset_y + offset_x + in_gob
    }
}

/// The linear image (rows of `width * bytes_per_pixel`) of a swizzled surface; None when
/// `src` is shorter than the layout needs or the layout is not a block-linear one.
pub fn deswizzle(src: &[u8], layout: &SurfaceLayout) -> Option<Vec<u8>> {
    let size = layout.swizzled_size()?;
    if (src.len() as u64) < size || layout.width * layout.bytes_per_pixel > layout.pitch {
        return None;
    }
    let row = (layout.width * layout.bytes_per_pixel) as usize;
    let mut out = vec![0u8; row * layout.height as usize];
    // x bits 0-3 are offset bits 0-3: 16 bytes from a multiple of 16 are one run.
    for y in 0..layout.height {
        for x in (0..row).step_by(16) {
            let len = (row - x).min(16);
            let from = usize::try_from(layout.offset(x as u32, y)).ok()?;
            let to = y as usize * row + x;
            out[to..to + len].copy_from_slice(src.get(from..from + len)?);
        }
    }
    Some(out)
}

/// Writes `frame` as an RGBA8 PNG.
pub fn write_png(frame: &Frame, path: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), frame.width, frame.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| format!("{}: {e}", path.display()))?;
    writer.write_image_data(&frame.rgba).map_err(|e| format!("{}: {e}", path.display()))?;
    writer.finish().map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREEN: SurfaceLayout =
        SurfaceLayout { width: 1280, height: 720, bytes_per_pixel: 4, pitch: 5120, block_height_log2: 4 };

    #[test]
    fn a_1280x720_rgba_surface_with_16_gob_blocks_is_0x3c0000_bytes() {
        assert_eq!(SCREEN.swizzled_size(), Some(0x3C_0000));
    }

    #[test]
    fn offsets_follow_the_gob_and_block_layout() {
        // Inside the first GOB: 16-byte runs, two rows interleaved per 32 bytes.
        assert_eq!(SCREEN.offset(0, 0), 0);
        assert_eq!(SCREEN.offset(15, 0), 15);
        assert_eq!(SCREEN.offset(0, 1), 16);
        assert_eq!(SCREEN.offset(16, 0), 32);
        assert_eq!(SCREEN.offset(32, 0), 256);
        assert_eq!(SCREEN.offset(0, 2), 64);
        assert_eq!(SCREEN.offset(0, 4), 128);
        // The next GOB down is 512 bytes on; the next GOB right is a whole block (16 GOBs).
        assert_eq!(SCREEN.offset(0, 8), 512);
        assert_eq!(SCREEN.offset(64, 0), 8192);
        // The next block row: 80 GOBs x 16 x 512.
        assert_eq!(SCREEN.offset(0, 128), 80 * 8192);
        // The last byte of the visible image is inside the surface.
        assert!(SCREEN.offset(5119, 719) < 0x3C_0000);
    }

    #[test]
    fn deswizzle_inverts_the_offsets_and_refuses_a_short_buffer() {
        let layout = SurfaceLayout { width: 32, height: 20, bytes_per_pixel: 4, pitch: 128, block_height_log2: 1 };
        let size = layout.swizzled_size().unwrap() as usize;
        let mut src = vec![0u8; size];
        for y in 0..20u32 {
            for x in 0..128u32 {
                src[layout.offset(x, y) as usize] = (x + 7 * y) as u8;
            }
        }
        let linear = deswizzle(&src, &layout).unwrap();
        for y in 0..20usize {
            for x in 0..128usize {
                assert_eq!(linear[y * 128 + x], (x + 7 * y) as u8);
            }
        }
        assert_eq!(deswizzle(&src[..size - 1], &layout), None);
    }

    #[test]
    fn stray_layers_are_not_shown_and_open_layer_checks_the_owner() {
        let mut c = Compositor::default();
        let managed = c.create_managed_layer(0x80);
        assert_eq!(managed, 1);
        assert_eq!(c.open_layer(managed, 0x81), Err(results::PERMISSION_DENIED));
        assert_eq!(c.open_layer(99, 0x80), Err(results::NOT_FOUND));
        assert_eq!(c.open_layer(managed, 0x80), Ok(2));
        assert_eq!(c.open_layer(managed, 0x80), Err(results::OPERATION_FAILED));
        let (stray, binder) = c.create_stray_layer(0).unwrap();
        assert_eq!((stray, binder), (2, 4));
        assert!(c.layers[&managed].is_shown());
        assert!(!c.layers[&stray].is_shown());
        assert_eq!(c.create_stray_layer(5), Err(results::NOT_FOUND));
    }
}
