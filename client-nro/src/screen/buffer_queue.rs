//! The layer's IGraphicBufferProducer, reached through vi's relay (IHOSBinderDriver)
//! with parcels (screen-output.md §1d; §1g rows 16-17, 23-25, 28). Order as libnx
//! `binder.c` (`binderInitSession`: AdjustRefcount weak then strong; `binderClose`: strong
//! then weak), `buffer_producer.c` (`bqConnect`, `bqSetPreallocatedBuffer`,
//! `bqDequeueBuffer`, `bqRequestBuffer`, `bqQueueBuffer`, `bqDisconnect`) and
//! `native_window.c` (REQUEST_BUFFER once per slot, the first time it is dequeued; the
//! dequeued fence waited on before drawing). Parcels: `xcbuf_common::binder::producer`.
//!
//! Transactions use TransactParcel (0: A = request, B = reply). Eden and Ryujinx implement
//! 0 and 3; libnx uses 3 (auto buffers) from 3.0.0 on; hardware keeps 0.

use xcbuf_common::binder::parcel::{MAX_PARCEL, ParcelError};
use xcbuf_common::binder::producer::{self, API_CPU, QueueBufferInput, Status};
use xcbuf_common::binder::{GraphicBuffer, MultiFence, driver};
use xcbuf_common::result::ResultCode;

use super::framebuffer::SLOTS;
use super::{Cause, Step, StepError, StepResult};
use crate::service::{Request, Service};

/// The producer of one layer.
pub struct BufferQueue {
    binder_id: i32,
    requested: [bool; SLOTS],
    connected: bool,
    refs: bool,
}

/// A parcel that could not be built or read.
fn parcel(step: &'static str, e: ParcelError) -> StepError {
    let what = match e {
        ParcelError::EmptyReply => "empty reply parcel (wrong binder id or token)",
        ParcelError::BufferTooSmall => "parcel too large",
        _ => "malformed reply parcel",
    };
    StepError { step, cause: Cause::Reply(what) }
}

/// A status other than OK fails the step (`positive_ok`: any status >= 0 is success).
fn check(step: &'static str, status: Status, positive_ok: bool) -> StepResult<()> {
    if status.0 == 0 || (positive_ok && status.0 > 0) {
        Ok(())
    } else {
        Err(StepError { step, cause: Cause::Status(status.0) })
    }
}

impl BufferQueue {
    /// Rows 16-17: AdjustRefcount(+1 weak, +1 strong), CONNECT(no listener, CPU, 0).
    pub fn connect(relay: &Service, binder_id: i32) -> StepResult<BufferQueue> {
        let mut q = BufferQueue { binder_id, requested: [false; SLOTS], connected: false, refs: false };
        q.adjust(relay, 1, driver::REF_WEAK).step("binder AdjustRefcount")?;
        q.adjust(relay, 1, driver::REF_STRONG).step("binder AdjustRefcount")?;
        q.refs = true;
        let step = "binder CONNECT";
        let reply = q.transact(relay, producer::CONNECT, step, |b| producer::connect(b, API_CPU, false))?;
        let (_, status) = producer::parse_output(&reply).map_err(|e| parcel(step, e))?;
        check(step, status, false)?;
        q.connected = true;
        Ok(q)
    }

    fn adjust(&self, relay: &Service, addval: i32, kind: i32) -> Result<(), ResultCode> {
        let args = driver::adjust_refcount_raw(self.binder_id, addval, kind);
        relay.call(Request::new(driver::ADJUST_REFCOUNT, &args)).map(|_| ())
    }

    /// One TransactParcel of the parcel `build` writes; the reply in a 0x400-byte B buffer.
    fn transact(
        &self,
        relay: &Service,
        code: u32,
        step: &'static str,
        build: impl FnOnce(&mut [u8]) -> Result<usize, ParcelError>,
    ) -> StepResult<[u8; MAX_PARCEL]> {
        let mut request = [0u8; MAX_PARCEL];
        let len = build(&mut request).map_err(|e| parcel(step, e))?;
        let mut reply = [0u8; MAX_PARCEL];
        let args = driver::transact_raw(self.binder_id, code, 0);
        let req = Request {
            send: request.get(..len),
            receive: Some(&mut reply),
            ..Request::new(driver::TRANSACT_PARCEL, &args)
        };
        relay.call(req).step(step)?;
        Ok(reply)
    }

    /// Row 23: SET_PREALLOCATED_BUFFER(slot, the GBFR of `slot` in nvmap buffer `nvmap_id`).
    /// libnx ignores the status (`bqSetPreallocatedBuffer`); the reply must hold one.
    pub fn set_preallocated_buffer(&mut self, relay: &Service, slot: usize, nvmap_id: u32) -> StepResult<()> {
        let step = "binder SET_PREALLOCATED_BUFFER";
        let g = GraphicBuffer::framebuffer(nvmap_id, slot as u32);
        let reply = self.transact(relay, producer::SET_PREALLOCATED_BUFFER, step, |b| {
            producer::set_preallocated_buffer(b, slot as i32, Some(&g))
        })?;
        producer::parse_status(&reply).map(|_| ()).map_err(|e| parcel(step, e))
    }

    /// DEQUEUE(sync, the GBFR's size, format and usage) -> slot and its fence.
    pub fn dequeue(&mut self, relay: &Service) -> StepResult<(usize, MultiFence)> {
        let step = "binder DEQUEUE_BUFFER";
        let g = GraphicBuffer::framebuffer(0, 0);
        let reply = self.transact(relay, producer::DEQUEUE_BUFFER, step, |b| producer::dequeue_for(b, &g))?;
        let d = producer::parse_dequeue(&reply).map_err(|e| parcel(step, e))?;
        // Eden may OR positive flags into a successful status (screen-output.md §1d).
        check(step, d.status, true)?;
        let slot = usize::try_from(d.slot)
            .ok()
            .filter(|s| *s < SLOTS)
            .ok_or(StepError { step, cause: Cause::Reply("slot out of range") })?;
        Ok((slot, d.fence.unwrap_or(MultiFence::NONE)))
    }

    /// REQUEST_BUFFER(slot), the first time `slot` is dequeued (libnx `nwindowDequeueBuffer`).
    pub fn request_buffer(&mut self, relay: &Service, slot: usize) -> StepResult<()> {
        if self.requested.get(slot).copied().unwrap_or(true) {
            return Ok(());
        }
        let step = "binder REQUEST_BUFFER";
        let reply =
            self.transact(relay, producer::REQUEST_BUFFER, step, |b| producer::request_buffer(b, slot as i32))?;
        let r = producer::parse_request_buffer(&reply).map_err(|e| parcel(step, e))?;
        check(step, r.status, false)?;
        if let Some(s) = self.requested.get_mut(slot) {
            *s = true;
        }
        Ok(())
    }

    /// Row 25: QUEUE(slot, no crop, swap interval 1, no fence).
    pub fn queue(&mut self, relay: &Service, slot: usize) -> StepResult<()> {
        let step = "binder QUEUE_BUFFER";
        let input = QueueBufferInput::CPU_FRAME;
        let reply =
            self.transact(relay, producer::QUEUE_BUFFER, step, |b| producer::queue_buffer(b, slot as i32, &input))?;
        let (_, status) = producer::parse_output(&reply).map_err(|e| parcel(step, e))?;
        check(step, status, false)
    }

    /// Row 28: DISCONNECT(CPU), AdjustRefcount(-1 strong, -1 weak). Every step runs; the
    /// first failure is returned.
    pub fn disconnect(mut self, relay: &Service) -> StepResult<()> {
        let mut first = Ok(());
        if self.connected {
            self.connected = false;
            let step = "binder DISCONNECT";
            first = self
                .transact(relay, producer::DISCONNECT, step, |b| producer::disconnect(b, API_CPU))
                .and_then(|reply| producer::parse_status(&reply).map_err(|e| parcel(step, e)))
                .and_then(|status| check(step, status, false));
        }
        if self.refs {
            self.refs = false;
            let strong = self.adjust(relay, -1, driver::REF_STRONG).step("binder AdjustRefcount");
            let weak = self.adjust(relay, -1, driver::REF_WEAK).step("binder AdjustRefcount");
            first = first.and(strong).and(weak);
        }
        first
    }
}
