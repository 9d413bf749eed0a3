//! One layer's buffer queue: the IGraphicBufferProducer transactions a program sends
//! through IHOSBinderDriver, and the consumer side the bench's compositor drives.
//!
//! Transactions (codes: Eden `nvnflinger/buffer_queue_producer.cpp`
//! `BufferQueueProducer::Transact`; libnx `display/buffer_producer.c`): 1 REQUEST_BUFFER,
//! 3 DEQUEUE, 7 QUEUE, 10 CONNECT, 11 DISCONNECT, 14 SET_PREALLOCATED_BUFFER. Every reply
//! parcel ends with the status (Eden writes `status` last). Each rule cites the function it
//! follows; where Eden and Ryujinx differ the comment says which one the bench takes.

use super::parcel::{ParcelError, ParcelReader, ParcelWriter};

/// Buffer slots of a queue (Eden `buffer_queue_defs.h` NUM_BUFFER_SLOTS).
pub const NUM_SLOTS: usize = 64;
/// Size of a flattened NvGraphicBuffer (Eden `ui/graphic_buffer.h` static_assert 0x16C).
pub const GRAPHIC_BUFFER_SIZE: usize = 0x16C;
/// Size of an NvMultiFence (Eden `ui/fence.h` static_assert 36).
pub const FENCE_SIZE: usize = 0x24;
/// Size of a QueueBufferInput (Eden `graphic_buffer_producer.h` static_assert 84).
pub const QUEUE_BUFFER_INPUT_SIZE: usize = 0x54;
/// The GBFR magic (libnx `bqSetPreallocatedBuffer`).
pub const GBFR_MAGIC: u32 = 0x4742_4652;
/// numInts of a GBFR: Ryujinx's `GraphicBuffer` throws on any other value.
pub const GBFR_NUM_INTS: u32 = 81;

/// Transaction codes.
pub mod code {
    pub const REQUEST_BUFFER: u32 = 1;
    pub const DEQUEUE_BUFFER: u32 = 3;
    pub const QUEUE_BUFFER: u32 = 7;
    pub const CONNECT: u32 = 10;
    pub const DISCONNECT: u32 = 11;
    pub const SET_PREALLOCATED_BUFFER: u32 = 14;
}

/// Status values (negative errno; Eden `nvnflinger/status.h`).
pub mod status {
    pub const NO_ERROR: i32 = 0;
    pub const NO_INIT: i32 = -19;
    pub const NO_MEMORY: i32 = -12;
    pub const BAD_VALUE: i32 = -22;
    pub const INVALID_OPERATION: i32 = -38;
}

/// NativeWindowApi values CONNECT and DISCONNECT accept (Eden `window.h`: Egl 1, Cpu 2,
/// Media 3, Camera 4).
fn valid_api(api: i32) -> bool {
    (1..=4).contains(&api)
}

/// The fence of a slot nothing waits on: num_fences 0 and ids -1 (Eden `Fence::NoFence`).
pub fn no_fence() -> [u8; FENCE_SIZE] {
    let mut f = [0u8; FENCE_SIZE];
    for i in 0..4 {
        f[4 + 8 * i..8 + 8 * i].copy_from_slice(&(-1i32).to_le_bytes());
    }
    f
}

/// The fields of a GBFR the servers read (offsets: Eden `ui/graphic_buffer.h`
/// `NvGraphicBuffer`; Ryujinx `Types/GraphicBuffer.cs`, `NvGraphicBuffer.cs`,
/// `NvGraphicBufferSurface.cs`; screen-output.md §1d).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphicBuffer {
    /// The flattened bytes, as REQUEST_BUFFER gives them back.
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: i32,
    pub usage: u32,
    /// 0x2C: the nvmap id (Eden `buffer_id`, Ryujinx `NvMapId`).
    pub nvmap_id: u32,
    /// 0x48: Eden's pixel format (`external_format`).
    pub ext_format: i32,
    /// 0x64: plane 0's colour format (Ryujinx `ColorFormat`).
    pub color_format: u64,
    /// 0x70: plane 0's pitch in bytes.
    pub pitch: u32,
    /// 0x74: plane 0's nvmap handle (Ryujinx uses it instead of the id when non-zero).
    pub plane_handle: u32,
    /// 0x78: plane 0's offset in the nvmap object (Eden `offset`, Ryujinx `Offset`).
    pub offset: u32,
    /// 0x80: plane 0's block height, log2 of GOBs (Ryujinx `BlockHeightLog2`).
    pub block_height_log2: u32,
    /// 0x94: plane 0's size.
    pub plane_size: u64,
}

fn at32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl GraphicBuffer {
    /// Reads a GBFR of exactly [`GRAPHIC_BUFFER_SIZE`] bytes: its magic and numInts must be
    /// the GBFR's (Ryujinx `GraphicBuffer`/`GraphicBufferHeader`).
    pub fn parse(b: &[u8]) -> Result<GraphicBuffer, ParcelError> {
        if b.len() != GRAPHIC_BUFFER_SIZE {
            return Err(ParcelError(format!("GBFR of {:#x} bytes", b.len())));
        }
        if at32(b, 0) != GBFR_MAGIC || at32(b, 0x24) != GBFR_NUM_INTS {
            return Err(ParcelError(format!(
                "GBFR magic {:#x} numInts {} (expected {GBFR_MAGIC:#x} and {GBFR_NUM_INTS})",
                at32(b, 0),
                at32(b, 0x24)
            )));
        }
        Ok(GraphicBuffer {
            bytes: b.to_vec(),
            width: at32(b, 0x04),
            height: at32(b, 0x08),
            format: at32(b, 0x10) as i32,
            usage: at32(b, 0x14),
            nvmap_id: at32(b, 0x2C),
            ext_format: at32(b, 0x48) as i32,
            color_format: u64::from(at32(b, 0x64)) | (u64::from(at32(b, 0x68)) << 32),
            pitch: at32(b, 0x70),
            plane_handle: at32(b, 0x74),
            offset: at32(b, 0x78),
            block_height_log2: at32(b, 0x80),
            plane_size: u64::from(at32(b, 0x94)) | (u64::from(at32(b, 0x98)) << 32),
        })
    }
}

/// BufferState (Eden `buffer_slot.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    Free,
    Dequeued,
    Queued,
    Acquired,
}

/// One slot (Eden `buffer_slot.h` BufferSlot).
#[derive(Clone, Debug)]
pub struct Slot {
    pub state: SlotState,
    pub buffer: Option<GraphicBuffer>,
    pub preallocated: bool,
    pub request_called: bool,
    pub frame_number: u64,
    /// The fence the next DEQUEUE of the slot hands out (the consumer's release fence).
    pub fence: [u8; FENCE_SIZE],
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            state: SlotState::Free,
            buffer: None,
            preallocated: false,
            request_called: false,
            frame_number: 0,
            fence: no_fence(),
        }
    }
}

/// A buffer the producer queued, for the consumer.
#[derive(Clone, Debug)]
pub struct QueuedFrame {
    pub slot: usize,
    pub buffer: GraphicBuffer,
    pub frame_number: u64,
}

/// What a transaction did.
pub enum Outcome {
    /// The reply parcel; with QUEUE, the frame now queued; `buffer_event`: the producer's
    /// buffer event is signalled (Eden `BufferQueueProducer` signals `buffer_wait_event` in
    /// `SetPreallocatedBuffer` and in a successful `Disconnect`).
    Reply { parcel: Vec<u8>, queued: Option<QueuedFrame>, buffer_event: bool },
    /// DEQUEUE found no free slot: the caller waits (Eden `WaitForFreeSlotThenRelock`
    /// waits on the dequeue condition; so does Ryujinx).
    Wait(String),
    /// A transaction the bench does not model, or a parcel both servers would fail on
    /// (Eden asserts, Ryujinx throws): the run stops with this report.
    Stop(String),
}

/// One producer's queue (Eden `buffer_queue_core.h` BufferQueueCore).
#[derive(Clone, Debug)]
pub struct BufferQueue {
    pub connected_api: Option<i32>,
    pub slots: Vec<Slot>,
    pub default_width: u32,
    pub default_height: u32,
    pub default_format: i32,
    /// Slots a DEQUEUE may use once SET_PREALLOCATED_BUFFER set them
    /// (`override_max_buffer_count`).
    pub override_max: usize,
    pub frame_counter: u64,
    /// Queued frames the consumer has not acquired.
    pub queue: Vec<usize>,
}

impl Default for BufferQueue {
    /// Eden `buffer_queue_core.h`: default size 1x1, format Rgba8888 (1), nothing connected.
    fn default() -> BufferQueue {
        BufferQueue {
            connected_api: None,
            slots: vec![Slot::default(); NUM_SLOTS],
            default_width: 1,
            default_height: 1,
            default_format: 1,
            override_max: 0,
            frame_counter: 0,
            queue: Vec::new(),
        }
    }
}

fn reply(w: &ParcelWriter) -> Outcome {
    Outcome::Reply { parcel: w.finish(), queued: None, buffer_event: false }
}

impl BufferQueue {
    /// Slots a DEQUEUE or QUEUE may use (Eden `GetMaxBufferCountLocked`: the preallocated
    /// count once set; Android's default of 2 before).
    fn max_buffer_count(&self) -> usize {
        if self.override_max != 0 { self.override_max } else { 2 }
    }

    /// The QueueBufferOutput {width, height, transform hint, pending buffers} (Eden
    /// `QueueBufferOutput::Inflate`).
    fn write_output(&self, w: &mut ParcelWriter) {
        w.u32(self.default_width).u32(self.default_height).u32(0).u32(self.queue.len() as u32);
    }

    /// One transaction: the request parcel after the interface token.
    pub fn transact(&mut self, code: u32, r: &mut ParcelReader<'_>) -> Outcome {
        match self.transact_inner(code, r) {
            Ok(o) => o,
            Err(e) => Outcome::Stop(format!("transaction {code}: {e}")),
        }
    }

    fn transact_inner(&mut self, code: u32, r: &mut ParcelReader<'_>) -> Result<Outcome, ParcelError> {
        let mut w = ParcelWriter::new();
        match code {
            code::CONNECT => {
                let (listener, api, _by_app) = (r.i32()?, r.i32()?, r.i32()?);
                if listener != 0 {
                    // Eden `Transact` Connect: UNIMPLEMENTED_IF_MSG(enable_listener).
                    return Ok(Outcome::Stop("CONNECT with a producer listener (Eden: unimplemented)".into()));
                }
                let st = self.connect(api);
                self.write_output(&mut w);
                w.i32(st);
            }
            code::SET_PREALLOCATED_BUFFER => {
                let slot = r.i32()?;
                let buffer = r.nullable_flattened(GRAPHIC_BUFFER_SIZE)?.map(GraphicBuffer::parse).transpose()?;
                let st = self.set_preallocated(slot, buffer);
                w.i32(st);
                return Ok(Outcome::Reply { parcel: w.finish(), queued: None, buffer_event: st == status::NO_ERROR });
            }
            code::DEQUEUE_BUFFER => {
                let (is_async, width, height, format, usage) = (r.i32()?, r.u32()?, r.u32()?, r.i32()?, r.u32()?);
                match self.dequeue(is_async != 0, width, height, format, usage) {
                    DequeueResult::Slot(slot, fence) => {
                        w.i32(slot as i32).flattened(&fence).i32(status::NO_ERROR);
                    }
                    DequeueResult::Status(st) => {
                        // Ryujinx `DequeueBuffer` fails with slot -1 and NoFence.
                        w.i32(-1).flattened(&no_fence()).i32(st);
                    }
                    DequeueResult::Wait(why) => return Ok(Outcome::Wait(why)),
                }
            }
            code::REQUEST_BUFFER => {
                let slot = r.i32()?;
                let (buffer, st) = match self.request(slot) {
                    Ok(b) => (b.cloned(), status::NO_ERROR),
                    Err(st) => (None, st),
                };
                // Eden `Transact` RequestBuffer: the buffer as a nullable flattened object,
                // then the status.
                match &buffer {
                    Some(b) => w.flattened(&b.bytes),
                    None => w.null(),
                };
                w.i32(st);
                if st == status::NO_ERROR
                    && let Some(s) = usize::try_from(slot).ok().and_then(|i| self.slots.get_mut(i))
                {
                    // Eden `RequestBuffer`: marks the slot requested.
                    s.request_called = true;
                }
            }
            code::QUEUE_BUFFER => {
                let slot = r.i32()?;
                let input = r.flattened(QUEUE_BUFFER_INPUT_SIZE)?;
                let (st, queued) = self.queue_buffer(slot, input);
                self.write_output(&mut w);
                w.i32(st);
                return Ok(Outcome::Reply { parcel: w.finish(), queued, buffer_event: false });
            }
            code::DISCONNECT => {
                let api = r.i32()?;
                let st = self.disconnect(api);
                w.i32(st);
                return Ok(Outcome::Reply { parcel: w.finish(), queued: None, buffer_event: st == status::NO_ERROR });
            }
            other => return Ok(Outcome::Stop(format!("transaction code {other} is not modelled by the bench"))),
        }
        Ok(reply(&w))
    }

    /// Eden `BufferQueueProducer::Connect`: BadValue when already connected or for an api
    /// outside Egl..Camera.
    fn connect(&mut self, api: i32) -> i32 {
        if self.connected_api.is_some() || !valid_api(api) {
            return status::BAD_VALUE;
        }
        self.connected_api = Some(api);
        status::NO_ERROR
    }

    /// Eden `BufferQueueProducer::SetPreallocatedBuffer`: a slot in 0..64 (else BadValue)
    /// is reset; a present buffer makes it preallocated and sets the defaults (size,
    /// format) and the usable slot count to the preallocated count.
    fn set_preallocated(&mut self, slot: i32, buffer: Option<GraphicBuffer>) -> i32 {
        let Some(index) = usize::try_from(slot).ok().filter(|&s| s < NUM_SLOTS) else {
            return status::BAD_VALUE;
        };
        let mut s = Slot::default();
        if let Some(b) = &buffer {
            s.preallocated = true;
            self.default_width = b.width;
            self.default_height = b.height;
            self.default_format = b.format;
        }
        s.buffer = buffer;
        self.slots[index] = s;
        self.override_max = self.slots.iter().filter(|s| s.preallocated).count();
        status::NO_ERROR
    }

    /// Eden `DequeueBuffer` / `WaitForFreeSlotThenRelock`, with Ryujinx's answer to a
    /// preallocated buffer that does not match.
    fn dequeue(&mut self, _async: bool, width: u32, height: u32, format: i32, usage: u32) -> DequeueResult {
        if (width == 0) != (height == 0) {
            return DequeueResult::Status(status::BAD_VALUE);
        }
        let format = if format == 0 { self.default_format } else { format };
        let max = self.max_buffer_count().min(NUM_SLOTS);
        // The oldest free slot (lowest frame number).
        let found = (0..max)
            .filter(|&s| self.slots[s].state == SlotState::Free)
            .min_by_key(|&s| (self.slots[s].frame_number, s));
        let Some(slot) = found else {
            let states: Vec<String> = (0..max).map(|s| format!("{s}:{:?}", self.slots[s].state)).collect();
            return DequeueResult::Wait(format!(
                "DEQUEUE waits for a free slot (slots {}; the compositor releases a buffer only when the next frame replaces it)",
                states.join(", ")
            ));
        };
        let (width, height) = if width == 0 { (self.default_width, self.default_height) } else { (width, height) };
        let s = &mut self.slots[slot];
        let fits = s
            .buffer
            .as_ref()
            .is_some_and(|b| b.width == width && b.height == height && b.format == format && b.usage & usage == usage);
        if !fits {
            // Eden would drop the preallocated buffer and hand out a new one it allocates
            // itself (`BufferNeedsReallocation`), which no nvmap memory backs; Ryujinx
            // (`BufferQueueProducer.cs` DequeueBuffer) fails with NoInit for a
            // preallocated slot and NoMemory for one never preallocated. The bench takes
            // Ryujinx's rule.
            let rejected = if s.preallocated { status::NO_INIT } else { status::NO_MEMORY };
            return DequeueResult::Status(rejected);
        }
        s.state = SlotState::Dequeued;
        let fence = s.fence;
        s.fence = no_fence();
        DequeueResult::Slot(slot, fence)
    }

    /// Eden `RequestBuffer`: the slot in 0..64 and dequeued, else BadValue.
    fn request(&self, slot: i32) -> Result<Option<&GraphicBuffer>, i32> {
        let s = usize::try_from(slot).ok().and_then(|i| self.slots.get(i)).ok_or(status::BAD_VALUE)?;
        if s.state != SlotState::Dequeued {
            return Err(status::BAD_VALUE);
        }
        Ok(s.buffer.as_ref())
    }

    /// Eden `QueueBuffer`: scaling mode 0..=4, slot below the usable count, dequeued and
    /// REQUESTed (else BadValue); Ryujinx also wants the crop inside the buffer.
    fn queue_buffer(&mut self, slot: i32, input: &[u8]) -> (i32, Option<QueuedFrame>) {
        let i32_at = |at: usize| at32(input, at) as i32;
        let scaling_mode = i32_at(0x1C);
        if !(0..=4).contains(&scaling_mode) {
            return (status::BAD_VALUE, None);
        }
        let Some(index) = usize::try_from(slot).ok().filter(|&s| s < self.max_buffer_count().min(NUM_SLOTS)) else {
            return (status::BAD_VALUE, None);
        };
        let s = &self.slots[index];
        if s.state != SlotState::Dequeued || !s.request_called {
            return (status::BAD_VALUE, None);
        }
        let Some(buffer) = s.buffer.clone() else { return (status::BAD_VALUE, None) };
        // Ryujinx `QueueBuffer`: the crop intersected with the buffer must be the crop
        // (an empty crop passes).
        let (left, top, right, bottom) = (i32_at(0x0C), i32_at(0x10), i32_at(0x14), i32_at(0x18));
        let empty = left >= right || top >= bottom;
        let inside = left >= 0 && top >= 0 && right <= buffer.width as i32 && bottom <= buffer.height as i32;
        if !empty && !inside {
            return (status::BAD_VALUE, None);
        }
        self.frame_counter += 1;
        let s = &mut self.slots[index];
        s.state = SlotState::Queued;
        s.frame_number = self.frame_counter;
        self.queue.push(index);
        (status::NO_ERROR, Some(QueuedFrame { slot: index, buffer, frame_number: self.frame_counter }))
    }

    /// Eden `Disconnect`: NoInit when nothing is connected; the connected api frees every
    /// buffer (`FreeAllBuffersLocked`); another api is BadValue.
    fn disconnect(&mut self, api: i32) -> i32 {
        let Some(connected) = self.connected_api else { return status::NO_INIT };
        if !valid_api(api) || api != connected {
            return status::BAD_VALUE;
        }
        self.queue.clear();
        for s in &mut self.slots {
            *s = Slot { frame_number: u64::from(u32::MAX), ..Slot::default() };
        }
        self.override_max = 0;
        self.connected_api = None;
        status::NO_ERROR
    }

    /// The consumer acquires the frame queued in `slot` and releases the one it held
    /// before, with no fence: Eden (`hardware_composer.cpp` `ReleaseFramebuffersLocked`)
    /// and Ryujinx (`SurfaceFlinger.cs` `ReleaseBuffer`) both release with
    /// `Fence::NoFence`. Both release a frame once it was presented (Eden after its swap
    /// interval, Ryujinx after drawing it); the bench holds the shown frame until the next
    /// one replaces it, the stricter order (a client with one buffer cannot dequeue it
    /// again while it is on screen).
    /// `release_fence`: the fence the released slot's next DEQUEUE hands out (None: no
    /// fence).
    pub fn acquire(&mut self, slot: usize, release_fence: Option<[u8; FENCE_SIZE]>) {
        self.queue.retain(|&s| s != slot);
        for (i, s) in self.slots.iter_mut().enumerate() {
            if i != slot && s.state == SlotState::Acquired {
                s.state = SlotState::Free;
                s.fence = release_fence.unwrap_or_else(no_fence);
            }
        }
        if let Some(s) = self.slots.get_mut(slot) {
            s.state = SlotState::Acquired;
        }
    }
}

enum DequeueResult {
    Slot(usize, [u8; FENCE_SIZE]),
    Status(i32),
    Wait(String),
}
