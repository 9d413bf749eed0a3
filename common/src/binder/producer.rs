//! IGraphicBufferProducer transactions: the request parcels the client sends through
//! TransactParcel and the replies it reads (screen-output.md §1d "Transactions").
//!
//! Codes: libnx `nx/source/display/buffer_producer.c` (the enum after Android's
//! IGraphicBufferProducer.cpp; 14 is the Switch's own SET_PREALLOCATED_BUFFER); Eden
//! `nvnflinger/buffer_queue_producer.cpp` `BufferQueueProducer::Transact` uses the same
//! numbers. Every request starts with the interface token of [`IGBP_DESCRIPTOR`]; the
//! arguments follow in the order libnx's `bq*` functions write them, and each reply is read
//! in the order Eden's `Transact` writes it (results first, the status last).
//!
//! The builders write the whole parcel (header included) into `buf` and return its length;
//! [`super::parcel::MAX_PARCEL`] bytes always suffice. The parsers take the reply parcel
//! (the B buffer) and return an error for any reply that does not hold what the
//! transaction answers, never a panic.

use super::fence::MultiFence;
use super::graphic_buffer::{self, GraphicBuffer};
use super::parcel::{IGBP_DESCRIPTOR, ParcelError, ParcelReader, ParcelWriter};
use super::{get_u32, put_u32};

/// REQUEST_BUFFER: the GBFR of a slot; must precede the first QUEUE of that slot.
pub const REQUEST_BUFFER: u32 = 1;
/// DEQUEUE_BUFFER: a free slot and the fence to wait on before drawing into it.
pub const DEQUEUE_BUFFER: u32 = 3;
/// QUEUE_BUFFER: show a slot.
pub const QUEUE_BUFFER: u32 = 7;
/// CONNECT: attach the producer (api CPU).
pub const CONNECT: u32 = 10;
/// DISCONNECT.
pub const DISCONNECT: u32 = 11;
/// SET_PREALLOCATED_BUFFER: give the queue a slot's GBFR (Switch-specific).
pub const SET_PREALLOCATED_BUFFER: u32 = 14;

/// `NATIVE_WINDOW_API_CPU`, the api libnx connects and disconnects with
/// (`native_window.c` `nwindowCreate`/`_nwindowDisconnect`... `bqConnect(..., NATIVE_WINDOW_API_CPU)`).
pub const API_CPU: i32 = 2;

/// Payload sizes of the requests (screen-output.md §1d table): the 0x50-byte token plus
/// the arguments.
pub mod payload {
    /// CONNECT.
    pub const CONNECT: usize = 0x5C;
    /// SET_PREALLOCATED_BUFFER with a buffer.
    pub const SET_PREALLOCATED_BUFFER: usize = 0x1CC;
    /// DEQUEUE_BUFFER.
    pub const DEQUEUE_BUFFER: usize = 0x64;
    /// REQUEST_BUFFER.
    pub const REQUEST_BUFFER: usize = 0x54;
    /// QUEUE_BUFFER.
    pub const QUEUE_BUFFER: usize = 0xB0;
    /// DISCONNECT.
    pub const DISCONNECT: usize = 0x54;
}

/// A producer status: 0 or a negated errno (libnx `binder.c` `binderConvertErrorCode`
/// treats any value >= 0 as success; Eden `nvnflinger/status.h` may OR positive flags into
/// a successful DEQUEUE).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Status(pub i32);

impl Status {
    /// Success.
    pub const OK: Status = Status(0);
    /// -11.
    pub const WOULD_BLOCK: Status = Status(-11);
    /// -12.
    pub const NO_MEMORY: Status = Status(-12);
    /// -16.
    pub const BUSY: Status = Status(-16);
    /// -19: e.g. Ryujinx's DEQUEUE with another size or format than the preallocated buffer.
    pub const NO_INIT: Status = Status(-19);
    /// -22: e.g. QUEUE of a slot never REQUESTed.
    pub const BAD_VALUE: Status = Status(-22);
    /// -38.
    pub const INVALID_OPERATION: Status = Status(-38);

    /// Whether the transaction succeeded (>= 0).
    pub fn is_ok(self) -> bool {
        self.0 >= 0
    }
}

/// QUEUE's BqBufferInput (0x54 bytes; libnx `display/buffer_producer.h` `BqBufferInput`,
/// Eden `graphic_buffer_producer.h` `QueueBufferInput`, asserted 84 bytes, packed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueueBufferInput {
    /// 0x00: s64 timestamp.
    pub timestamp: i64,
    /// 0x08: isAutoTimestamp.
    pub is_auto_timestamp: i32,
    /// 0x0C: crop {left, top, right, bottom}; all 0 = the whole buffer.
    pub crop: [i32; 4],
    /// 0x1C: scaling mode.
    pub scaling_mode: i32,
    /// 0x20: transform.
    pub transform: u32,
    /// 0x24: sticky transform.
    pub sticky_transform: u32,
    /// 0x28: async (libnx "unk").
    pub is_async: i32,
    /// 0x2C: swap interval.
    pub swap_interval: i32,
    /// 0x30: the fence the consumer waits on before reading (none from the CPU).
    pub fence: MultiFence,
}

impl QueueBufferInput {
    /// Bytes on the wire.
    pub const SIZE: usize = 0x54;

    /// What libnx `native_window.c` `nwindowQueueBuffer` sends for a CPU-drawn frame: all
    /// zero but swap interval 1 (`nwindowCreate`), no fence.
    pub const CPU_FRAME: QueueBufferInput = QueueBufferInput {
        timestamp: 0,
        is_auto_timestamp: 0,
        crop: [0; 4],
        scaling_mode: 0,
        transform: 0,
        sticky_transform: 0,
        is_async: 0,
        swap_interval: 1,
        fence: MultiFence::NONE,
    };

    /// The wire bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        let ts = self.timestamp as u64;
        put_u32(&mut b, 0x00, ts as u32);
        put_u32(&mut b, 0x04, (ts >> 32) as u32);
        put_u32(&mut b, 0x08, self.is_auto_timestamp as u32);
        for (i, c) in self.crop.iter().enumerate() {
            put_u32(&mut b, 0x0C + 4 * i, *c as u32);
        }
        put_u32(&mut b, 0x1C, self.scaling_mode as u32);
        put_u32(&mut b, 0x20, self.transform);
        put_u32(&mut b, 0x24, self.sticky_transform);
        put_u32(&mut b, 0x28, self.is_async as u32);
        put_u32(&mut b, 0x2C, self.swap_interval as u32);
        if let Some(f) = b.get_mut(0x30..) {
            f.copy_from_slice(&self.fence.to_bytes());
        }
        b
    }

    /// From the wire bytes; None when shorter than [`QueueBufferInput::SIZE`].
    pub fn from_bytes(b: &[u8]) -> Option<QueueBufferInput> {
        let w = |at| get_u32(b, at);
        let ts = u64::from(w(0x00)?) | (u64::from(w(0x04)?) << 32);
        Some(QueueBufferInput {
            timestamp: ts as i64,
            is_auto_timestamp: w(0x08)? as i32,
            crop: [w(0x0C)? as i32, w(0x10)? as i32, w(0x14)? as i32, w(0x18)? as i32],
            scaling_mode: w(0x1C)? as i32,
            transform: w(0x20)?,
            sticky_transform: w(0x24)?,
            is_async: w(0x28)? as i32,
            swap_interval: w(0x2C)? as i32,
            fence: MultiFence::from_bytes(b.get(0x30..)?)?,
        })
    }
}

/// CONNECT's and QUEUE's BqBufferOutput (0x10 bytes; libnx `BqBufferOutput`, Eden
/// `QueueBufferOutput`, asserted 16 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct QueueBufferOutput {
    /// The queue's default width.
    pub width: u32,
    /// The queue's default height.
    pub height: u32,
    /// Transform hint.
    pub transform_hint: u32,
    /// Buffers queued and not yet acquired.
    pub num_pending_buffers: u32,
}

static_assertions::assert_eq_size!(QueueBufferOutput, [u8; QueueBufferOutput::SIZE]);

impl QueueBufferOutput {
    /// Bytes on the wire.
    pub const SIZE: usize = 0x10;

    /// The wire bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        put_u32(&mut b, 0x0, self.width);
        put_u32(&mut b, 0x4, self.height);
        put_u32(&mut b, 0x8, self.transform_hint);
        put_u32(&mut b, 0xC, self.num_pending_buffers);
        b
    }

    fn from_bytes(b: &[u8]) -> Option<QueueBufferOutput> {
        Some(QueueBufferOutput {
            width: get_u32(b, 0x0)?,
            height: get_u32(b, 0x4)?,
            transform_hint: get_u32(b, 0x8)?,
            num_pending_buffers: get_u32(b, 0xC)?,
        })
    }
}

fn request(buf: &mut [u8], args: impl FnOnce(&mut ParcelWriter<'_>)) -> Result<usize, ParcelError> {
    let mut w = ParcelWriter::new(buf);
    w.write_interface_token(IGBP_DESCRIPTOR);
    args(&mut w);
    w.finish()
}

/// CONNECT (libnx `bqConnect`): int32 0 (no listener), api, producerControlledByApp.
pub fn connect(buf: &mut [u8], api: i32, producer_controlled_by_app: bool) -> Result<usize, ParcelError> {
    request(buf, |w| {
        w.write_i32(0);
        w.write_i32(api);
        w.write_i32(i32::from(producer_controlled_by_app));
    })
}

/// SET_PREALLOCATED_BUFFER (libnx `bqSetPreallocatedBuffer`): slot, int32 1 and the
/// flattened GBFR, or int32 0 to clear the slot.
pub fn set_preallocated_buffer(
    buf: &mut [u8],
    slot: i32,
    buffer: Option<&GraphicBuffer>,
) -> Result<usize, ParcelError> {
    request(buf, |w| {
        w.write_i32(slot);
        match buffer {
            Some(g) => w.write_nullable(Some(&g.to_bytes())),
            None => w.write_nullable(None),
        }
    })
}

/// DEQUEUE_BUFFER (libnx `bqDequeueBuffer`): async, width, height, format, usage. These
/// must equal the preallocated GBFR header's (Eden drops the buffer, Ryujinx answers
/// NoInit otherwise). libnx sends async 1 only while it waits on the buffer event.
pub fn dequeue_buffer(
    buf: &mut [u8],
    is_async: bool,
    width: u32,
    height: u32,
    format: i32,
    usage: u32,
) -> Result<usize, ParcelError> {
    request(buf, |w| {
        w.write_i32(i32::from(is_async));
        w.write_u32(width);
        w.write_u32(height);
        w.write_i32(format);
        w.write_u32(usage);
    })
}

/// DEQUEUE_BUFFER with the width, height, format and usage of `g` (what libnx's window
/// sends after `framebufferCreate`), not async.
pub fn dequeue_for(buf: &mut [u8], g: &GraphicBuffer) -> Result<usize, ParcelError> {
    dequeue_buffer(buf, false, g.width, g.height, g.format as i32, g.usage)
}

/// REQUEST_BUFFER (libnx `bqRequestBuffer`): slot.
pub fn request_buffer(buf: &mut [u8], slot: i32) -> Result<usize, ParcelError> {
    request(buf, |w| w.write_i32(slot))
}

/// QUEUE_BUFFER (libnx `bqQueueBuffer`): slot, the flattened BqBufferInput.
pub fn queue_buffer(buf: &mut [u8], slot: i32, input: &QueueBufferInput) -> Result<usize, ParcelError> {
    request(buf, |w| {
        w.write_i32(slot);
        w.write_flattened(&input.to_bytes());
    })
}

/// DISCONNECT (libnx `bqDisconnect`): api.
pub fn disconnect(buf: &mut [u8], api: i32) -> Result<usize, ParcelError> {
    request(buf, |w| w.write_i32(api))
}

/// A reply that holds only the status (SET_PREALLOCATED_BUFFER, DISCONNECT; Eden
/// `Transact` writes the status alone for them).
pub fn parse_status(reply: &[u8]) -> Result<Status, ParcelError> {
    let mut r = ParcelReader::new(reply)?;
    Ok(Status(r.read_i32()?))
}

/// CONNECT's and QUEUE's reply: BqBufferOutput, then the status.
pub fn parse_output(reply: &[u8]) -> Result<(QueueBufferOutput, Status), ParcelError> {
    let mut r = ParcelReader::new(reply)?;
    let at = r.position();
    let out =
        QueueBufferOutput::from_bytes(r.read_bytes(QueueBufferOutput::SIZE)?).ok_or(ParcelError::Truncated { at })?;
    Ok((out, Status(r.read_i32()?)))
}

/// DEQUEUE's answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Dequeued {
    /// The slot to draw into.
    pub slot: i32,
    /// The fence to wait on first (None when the reply carries none).
    pub fence: Option<MultiFence>,
    /// The status.
    pub status: Status,
}

/// DEQUEUE's reply: slot, a nullable flattened NvMultiFence of exactly 0x24 bytes (libnx
/// `bqDequeueBuffer` refuses another size), the status.
pub fn parse_dequeue(reply: &[u8]) -> Result<Dequeued, ParcelError> {
    let mut r = ParcelReader::new(reply)?;
    let slot = r.read_i32()?;
    let fence = match r.read_i32()? {
        0 => None,
        _ => {
            let at = r.position();
            let bytes = r.read_flattened_exact(MultiFence::SIZE)?;
            Some(MultiFence::from_bytes(bytes).ok_or(ParcelError::Truncated { at })?)
        }
    };
    Ok(Dequeued { slot, fence, status: Status(r.read_i32()?) })
}

/// REQUEST_BUFFER's answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Requested {
    /// The slot's buffer (None when the reply says there is none).
    pub buffer: Option<GraphicBuffer>,
    /// The status.
    pub status: Status,
}

/// REQUEST_BUFFER's reply: a nullable flattened GBFR (0x16C bytes; Eden writes its
/// NvGraphicBuffer), the status.
pub fn parse_request_buffer(reply: &[u8]) -> Result<Requested, ParcelError> {
    let mut r = ParcelReader::new(reply)?;
    let buffer = match r.read_i32()? {
        0 => None,
        _ => {
            let at = r.position();
            let bytes = r.read_flattened_exact(graphic_buffer::SIZE)?;
            Some(GraphicBuffer::from_bytes(bytes).ok_or(ParcelError::Truncated { at })?)
        }
    };
    Ok(Requested { buffer, status: Status(r.read_i32()?) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binder::parcel::{HEADER_SIZE, INTERFACE_TOKEN_SIZE, MAX_PARCEL};

    fn hex_words(b: &[u8]) -> alloc::vec::Vec<alloc::string::String> {
        b.chunks(4).map(|w| w.iter().map(|x| alloc::format!("{x:02x}")).collect()).collect()
    }

    extern crate alloc;

    #[test]
    fn connect_is_byte_for_byte_the_worked_example_of_screen_output_1d() {
        let mut buf = [0u8; MAX_PARCEL];
        let n = connect(&mut buf, API_CPU, false).unwrap();
        assert_eq!(n, 0x6C);
        let words = hex_words(&buf[..n]);
        let mut want: alloc::vec::Vec<&str> = alloc::vec!["5c000000", "10000000", "00000000", "6c000000"];
        want.extend(["00010000", "22000000"]);
        // "android.gui.IGraphicBufferProducer": 17 words of two UTF-16 units.
        let utf16 = [
            "61006e00", "64007200", "6f006900", "64002e00", "67007500", "69002e00", "49004700", "72006100", "70006800",
            "69006300", "42007500", "66006600", "65007200", "50007200", "6f006400", "75006300", "65007200",
        ];
        want.extend(utf16);
        want.push("00000000");
        want.extend(["00000000", "02000000", "00000000"]);
        assert_eq!(words, want);
    }

    #[test]
    fn request_payload_sizes_match_the_transaction_table() {
        let mut buf = [0u8; MAX_PARCEL];
        let g = GraphicBuffer::framebuffer(1, 0);
        let cases: [(usize, usize); 6] = [
            (connect(&mut buf, API_CPU, false).unwrap(), payload::CONNECT),
            (set_preallocated_buffer(&mut buf, 0, Some(&g)).unwrap(), payload::SET_PREALLOCATED_BUFFER),
            (dequeue_for(&mut buf, &g).unwrap(), payload::DEQUEUE_BUFFER),
            (request_buffer(&mut buf, 0).unwrap(), payload::REQUEST_BUFFER),
            (queue_buffer(&mut buf, 0, &QueueBufferInput::CPU_FRAME).unwrap(), payload::QUEUE_BUFFER),
            (disconnect(&mut buf, API_CPU).unwrap(), payload::DISCONNECT),
        ];
        for (i, (len, payload)) in cases.into_iter().enumerate() {
            assert_eq!(len, HEADER_SIZE + payload, "case {i}");
        }
    }

    fn payload_of(buf: &[u8], n: usize) -> &[u8] {
        &buf[HEADER_SIZE + INTERFACE_TOKEN_SIZE..n]
    }

    fn words(b: &[u8]) -> alloc::vec::Vec<u32> {
        b.chunks(4).map(|w| u32::from_le_bytes(w.try_into().unwrap())).collect()
    }

    #[test]
    fn set_preallocated_buffer_carries_slot_nonnull_length_fds_then_the_gbfr() {
        let mut buf = [0u8; MAX_PARCEL];
        let g = GraphicBuffer::framebuffer(9, 1);
        let n = set_preallocated_buffer(&mut buf, 1, Some(&g)).unwrap();
        let p = payload_of(&buf, n);
        assert_eq!(words(&p[..0x10]), [1, 1, 0x16C, 0]);
        assert_eq!(&p[0x10..0x10 + 0x16C], &g.to_bytes()[..]);
        let n = set_preallocated_buffer(&mut buf, 2, None).unwrap();
        assert_eq!(words(payload_of(&buf, n)), [2, 0]);
    }

    #[test]
    fn dequeue_sends_the_gbfr_header_values() {
        let mut buf = [0u8; MAX_PARCEL];
        let n = dequeue_for(&mut buf, &GraphicBuffer::framebuffer(9, 0)).unwrap();
        assert_eq!(words(payload_of(&buf, n)), [0, 1280, 720, 1, 0xB00]);
        let n = dequeue_buffer(&mut buf, true, 1, 2, 3, 4).unwrap();
        assert_eq!(words(payload_of(&buf, n)), [1, 1, 2, 3, 4]);
    }

    #[test]
    fn queue_carries_slot_and_a_flattened_bq_buffer_input() {
        let mut buf = [0u8; MAX_PARCEL];
        let n = queue_buffer(&mut buf, 1, &QueueBufferInput::CPU_FRAME).unwrap();
        let p = words(payload_of(&buf, n));
        assert_eq!(p[..3], [1, 0x54, 0]);
        // swapInterval 1 at BqBufferInput 0x2C; everything else 0.
        let input = &p[3..];
        assert_eq!(input.len(), 0x54 / 4);
        for (i, w) in input.iter().enumerate() {
            assert_eq!(*w, u32::from(i * 4 == 0x2C), "BqBufferInput word {:#x}", i * 4);
        }
        let q = QueueBufferInput { timestamp: -2, crop: [1, 2, 3, 4], ..QueueBufferInput::CPU_FRAME };
        assert_eq!(QueueBufferInput::from_bytes(&q.to_bytes()), Some(q));
        assert_eq!(QueueBufferInput::from_bytes(&q.to_bytes()[..0x53]), None);
    }

    #[test]
    fn request_and_disconnect_carry_one_word() {
        let mut buf = [0u8; MAX_PARCEL];
        let n = request_buffer(&mut buf, 1).unwrap();
        assert_eq!(words(payload_of(&buf, n)), [1]);
        let n = disconnect(&mut buf, API_CPU).unwrap();
        assert_eq!(words(payload_of(&buf, n)), [2]);
        assert_eq!((REQUEST_BUFFER, DEQUEUE_BUFFER, QUEUE_BUFFER), (1, 3, 7));
        assert_eq!((CONNECT, DISCONNECT, SET_PREALLOCATED_BUFFER), (10, 11, 14));
    }

    #[test]
    fn a_buffer_too_small_for_a_request_is_an_error() {
        let mut small = [0u8; 0x100];
        let g = GraphicBuffer::framebuffer(1, 0);
        assert_eq!(set_preallocated_buffer(&mut small, 0, Some(&g)), Err(ParcelError::BufferTooSmall));
        assert_eq!(connect(&mut small[..0x6B], API_CPU, false), Err(ParcelError::BufferTooSmall));
    }

    /// A reply as Eden's `Transact` writes it.
    fn reply(f: impl FnOnce(&mut ParcelWriter<'_>)) -> ([u8; MAX_PARCEL], usize) {
        let mut buf = [0u8; MAX_PARCEL];
        let mut w = ParcelWriter::new(&mut buf);
        f(&mut w);
        let n = w.finish().unwrap();
        (buf, n)
    }

    #[test]
    fn connect_and_queue_replies_give_the_output_and_status() {
        let out = QueueBufferOutput { width: 1280, height: 720, transform_hint: 0, num_pending_buffers: 1 };
        let (b, n) = reply(|w| {
            w.write_bytes(&out.to_bytes());
            w.write_i32(0);
        });
        assert_eq!(parse_output(&b[..n]), Ok((out, Status::OK)));
        let (b, n) = reply(|w| {
            w.write_bytes(&out.to_bytes());
            w.write_i32(-22);
        });
        let (_, status) = parse_output(&b[..n]).unwrap();
        assert_eq!(status, Status::BAD_VALUE);
        assert!(!status.is_ok());
        // No status word: truncated.
        let (b, n) = reply(|w| w.write_bytes(&out.to_bytes()));
        assert_eq!(parse_output(&b[..n]), Err(ParcelError::Truncated { at: 16 }));
    }

    #[test]
    fn a_dequeue_reply_gives_slot_fence_and_status() {
        let fence = MultiFence { num_fences: 1, ..MultiFence::EDEN_NO_FENCE };
        let (b, n) = reply(|w| {
            w.write_i32(1);
            w.write_nullable(Some(&fence.to_bytes()));
            w.write_i32(0);
        });
        // The doc's layout: slot, 1, len 0x24, 0, fence, status at 0x34.
        assert_eq!(n, HEADER_SIZE + 0x38);
        assert_eq!(parse_dequeue(&b[..n]), Ok(Dequeued { slot: 1, fence: Some(fence), status: Status::OK }));
        // A positive flag in a successful status is still success.
        let (b, n) = reply(|w| {
            w.write_i32(0);
            w.write_i32(0);
            w.write_i32(1);
        });
        let d = parse_dequeue(&b[..n]).unwrap();
        assert_eq!((d.fence, d.status.is_ok()), (None, true));
        // A fence of another size is refused (libnx bqDequeueBuffer).
        let (b, n) = reply(|w| {
            w.write_i32(0);
            w.write_nullable(Some(&[0u8; 0x20]));
            w.write_i32(0);
        });
        assert_eq!(parse_dequeue(&b[..n]), Err(ParcelError::WrongObjectSize { expected: 0x24, got: 0x20 }));
    }

    #[test]
    fn a_request_buffer_reply_gives_the_gbfr() {
        let g = GraphicBuffer::framebuffer(5, 1);
        let (b, n) = reply(|w| {
            w.write_nullable(Some(&g.to_bytes()));
            w.write_i32(0);
        });
        // The doc's layout: 1, len, 0, GBFR, status at 0x178.
        assert_eq!(n, HEADER_SIZE + 0x17C);
        assert_eq!(parse_request_buffer(&b[..n]), Ok(Requested { buffer: Some(g), status: Status::OK }));
        let (b, n) = reply(|w| {
            w.write_i32(0);
            w.write_i32(-22);
        });
        assert_eq!(parse_request_buffer(&b[..n]), Ok(Requested { buffer: None, status: Status::BAD_VALUE }));
    }

    #[test]
    fn status_replies_and_empty_replies() {
        let (b, n) = reply(|w| w.write_i32(-19));
        assert_eq!(parse_status(&b[..n]), Ok(Status::NO_INIT));
        // Untouched (zeroed) reply buffer: the transaction did not happen.
        assert_eq!(parse_status(&[0u8; MAX_PARCEL]), Err(ParcelError::BadHeader));
        let (b, n) = reply(|_| {});
        assert_eq!(parse_status(&b[..n]), Err(ParcelError::EmptyReply));
        assert_eq!(parse_dequeue(&b[..n]), Err(ParcelError::EmptyReply));
    }
}
