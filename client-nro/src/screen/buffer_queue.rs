//! The layer's IGraphicBufferProducer, reached through vi's relay (IHOSBinderDriver)
//! with parcels (screen-output.md §1d; §1g rows 16-17, 23-25, 28). Order as libnx
//! `binder.c` (`binderInitSession`: AdjustRefcount weak then strong; `binderClose`: strong
//! then weak), `buffer_producer.c` (`bqConnect`, `bqSetPreallocatedBuffer`,
//! `bqDequeueBuffer`, `bqRequestBuffer`, `bqQueueBuffer`, `bqDisconnect`) and
//! `native_window.c` (REQUEST_BUFFER once per slot, the first time it is dequeued; the
//! dequeued fence waited on before drawing). Parcels from `xcbuf_common::binder`.
//!
//! Transactions use TransactParcel (0: A = request, B = reply). Eden and Ryujinx implement
//! 0 and 3; libnx uses 3 (auto buffers) from 3.0.0 on, which hardware also keeps 0 for.

use xcbuf_common::binder::parcel::{IGBP_DESCRIPTOR, MAX_PARCEL};
use xcbuf_common::binder::{GraphicBuffer, MultiFence, ParcelReader, ParcelWriter};
use xcbuf_common::vi::{AdjustRefcountArgs, REFCOUNT_STRONG, REFCOUNT_WEAK, TransactArgs, binder_driver};

use super::framebuffer::SLOTS;
use super::{Cause, Step, StepError, StepResult};
use crate::service::{Request, Service};

/// Transaction codes (libnx `buffer_producer.c`).
mod code {
    pub const REQUEST_BUFFER: u32 = 1;
    pub const DEQUEUE_BUFFER: u32 = 3;
    pub const QUEUE_BUFFER: u32 = 7;
    pub const CONNECT: u32 = 10;
    pub const DISCONNECT: u32 = 11;
    pub const SET_PREALLOCATED_BUFFER: u32 = 14;
}

/// CONNECT's and DISCONNECT's api: CPU (libnx `NATIVE_WINDOW_API_CPU`).
const API_CPU: i32 = 2;
/// Size of the queue input (BqBufferInput; Eden asserts 84).
const QUEUE_INPUT_SIZE: usize = 0x54;
/// Its swapInterval field.
const QUEUE_INPUT_SWAP_INTERVAL: usize = 0x2C;

/// The producer of one layer.
pub struct BufferQueue {
    binder_id: i32,
    requested: [bool; SLOTS],
    connected: bool,
    refs: bool,
}

/// A reply's parcel bytes.
struct Reply([u8; MAX_PARCEL]);

impl Reply {
    fn reader(&self, step: &'static str) -> StepResult<ParcelReader<'_>> {
        ParcelReader::new(&self.0).map_err(|_| StepError { step, cause: Cause::Reply("empty or malformed parcel") })
    }
}

/// A parcel value missing from a reply.
fn short(step: &'static str) -> StepError {
    StepError { step, cause: Cause::Reply("parcel too short") }
}

/// A status other than 0 (`ok_positive`: any status >= 0) fails the step.
fn status(step: &'static str, reader: &mut ParcelReader<'_>, ok_positive: bool) -> StepResult<()> {
    let s = reader.read_i32().map_err(|_| short(step))?;
    if s == 0 || (ok_positive && s > 0) { Ok(()) } else { Err(StepError { step, cause: Cause::Status(s) }) }
}

impl BufferQueue {
    /// Rows 16-17: AdjustRefcount(+1 weak, +1 strong), CONNECT(no listener, CPU, 0).
    pub fn connect(relay: &Service, binder_id: i32) -> StepResult<BufferQueue> {
        let mut q = BufferQueue { binder_id, requested: [false; SLOTS], connected: false, refs: false };
        q.adjust(relay, 1, REFCOUNT_WEAK).step("binder AdjustRefcount")?;
        q.adjust(relay, 1, REFCOUNT_STRONG).step("binder AdjustRefcount")?;
        q.refs = true;
        let step = "binder CONNECT";
        let reply = q.transact(relay, code::CONNECT, step, |w| {
            w.write_i32(0);
            w.write_i32(API_CPU);
            w.write_i32(0);
        })?;
        let mut r = reply.reader(step)?;
        // width, height, transformHint, numPendingBuffers.
        r.read_bytes(16).map_err(|_| short(step))?;
        status(step, &mut r, false)?;
        q.connected = true;
        Ok(q)
    }

    fn adjust(&self, relay: &Service, addval: i32, kind: i32) -> Result<(), xcbuf_common::result::ResultCode> {
        let args = AdjustRefcountArgs { id: self.binder_id, addval, kind }.encode();
        relay.call(Request::new(binder_driver::ADJUST_REFCOUNT, &args)).map(|_| ())
    }

    /// One TransactParcel: token + `body`, reply in a 0x400-byte B buffer.
    fn transact(
        &self,
        relay: &Service,
        code: u32,
        step: &'static str,
        body: impl FnOnce(&mut ParcelWriter<'_>),
    ) -> StepResult<Reply> {
        let mut request = [0u8; MAX_PARCEL];
        let mut w = ParcelWriter::new(&mut request);
        w.write_interface_token(IGBP_DESCRIPTOR);
        body(&mut w);
        let len = w.finish().map_err(|_| StepError { step, cause: Cause::Reply("request parcel too large") })?;
        let mut reply = Reply([0u8; MAX_PARCEL]);
        let args = TransactArgs { id: self.binder_id, code, flags: 0 }.encode();
        let req = Request {
            send: request.get(..len),
            receive: Some(&mut reply.0),
            ..Request::new(binder_driver::TRANSACT_PARCEL, &args)
        };
        relay.call(req).step(step)?;
        Ok(reply)
    }

    /// Row 23: SET_PREALLOCATED_BUFFER(slot, the framebuffer GBFR of `slot` in nvmap
    /// buffer `nvmap_id`).
    pub fn set_preallocated_buffer(&mut self, relay: &Service, slot: usize, nvmap_id: u32) -> StepResult<()> {
        let step = "binder SET_PREALLOCATED_BUFFER";
        let gbfr = GraphicBuffer::framebuffer(nvmap_id, slot as u32).to_bytes();
        // libnx ignores the status (`bqSetPreallocatedBuffer`); the reply must exist.
        let reply = self.transact(relay, code::SET_PREALLOCATED_BUFFER, step, |w| {
            w.write_i32(slot as i32);
            w.write_nullable(Some(&gbfr));
        })?;
        reply.reader(step).map(|_| ())
    }

    /// DEQUEUE(sync, 1280x720, RGBA_8888, the GBFR's usage) -> slot and its fence.
    pub fn dequeue(&mut self, relay: &Service) -> StepResult<(usize, MultiFence)> {
        let step = "binder DEQUEUE_BUFFER";
        let g = GraphicBuffer::framebuffer(0, 0);
        let reply = self.transact(relay, code::DEQUEUE_BUFFER, step, |w| {
            w.write_i32(0);
            w.write_u32(g.width);
            w.write_u32(g.height);
            w.write_u32(g.format);
            w.write_u32(g.usage);
        })?;
        let mut r = reply.reader(step)?;
        let slot = r.read_i32().map_err(|_| short(step))?;
        let fence = match r.read_nullable().map_err(|_| short(step))? {
            Some(bytes) => MultiFence::from_bytes(bytes).ok_or(short(step))?,
            None => MultiFence::NONE,
        };
        // Eden may OR positive flags into a successful status (screen-output.md §1d).
        status(step, &mut r, true)?;
        let slot = usize::try_from(slot)
            .ok()
            .filter(|s| *s < SLOTS)
            .ok_or(StepError { step, cause: Cause::Reply("slot out of range") })?;
        Ok((slot, fence))
    }

    /// REQUEST_BUFFER(slot), the first time `slot` is dequeued (libnx `nwindowDequeueBuffer`).
    pub fn request_buffer(&mut self, relay: &Service, slot: usize) -> StepResult<()> {
        if self.requested.get(slot).copied().unwrap_or(true) {
            return Ok(());
        }
        let step = "binder REQUEST_BUFFER";
        let reply = self.transact(relay, code::REQUEST_BUFFER, step, |w| w.write_i32(slot as i32))?;
        let mut r = reply.reader(step)?;
        r.read_nullable().map_err(|_| short(step))?;
        status(step, &mut r, false)?;
        if let Some(s) = self.requested.get_mut(slot) {
            *s = true;
        }
        Ok(())
    }

    /// Row 25: QUEUE(slot, no crop, swap interval 1, no fence).
    pub fn queue(&mut self, relay: &Service, slot: usize) -> StepResult<()> {
        let step = "binder QUEUE_BUFFER";
        let mut input = [0u8; QUEUE_INPUT_SIZE];
        if let Some(b) = input.get_mut(QUEUE_INPUT_SWAP_INTERVAL..QUEUE_INPUT_SWAP_INTERVAL + 4) {
            b.copy_from_slice(&1u32.to_le_bytes());
        }
        let reply = self.transact(relay, code::QUEUE_BUFFER, step, |w| {
            w.write_i32(slot as i32);
            w.write_flattened(&input);
        })?;
        let mut r = reply.reader(step)?;
        r.read_bytes(16).map_err(|_| short(step))?;
        status(step, &mut r, false)
    }

    /// Row 28: DISCONNECT(CPU), AdjustRefcount(-1 strong, -1 weak). Every step runs; the
    /// first failure is returned.
    pub fn disconnect(mut self, relay: &Service) -> StepResult<()> {
        self.release(relay)
    }

    fn release(&mut self, relay: &Service) -> StepResult<()> {
        let mut first = Ok(());
        if self.connected {
            self.connected = false;
            let step = "binder DISCONNECT";
            first = self
                .transact(relay, code::DISCONNECT, step, |w| w.write_i32(API_CPU))
                .and_then(|reply| status(step, &mut reply.reader(step)?, false));
        }
        if self.refs {
            self.refs = false;
            let strong = self.adjust(relay, -1, REFCOUNT_STRONG).step("binder AdjustRefcount");
            let weak = self.adjust(relay, -1, REFCOUNT_WEAK).step("binder AdjustRefcount");
            first = first.and(strong).and(weak);
        }
        first
    }
}
