//! The Android binder parcels the client sends through vi's IHOSBinderDriver to its layer's
//! IGraphicBufferProducer (screen-output.md §1d): the parcel codec ([`parcel`]), the
//! producer's transactions ([`producer`]), the buffer it displays ([`graphic_buffer`]) and
//! its fences ([`fence`]). Pure byte layouts, no IPC: the client builds requests with them,
//! the bench's vi reads them.
//!
//! Checked against libnx `nx/source/display/parcel.c`, `buffer_producer.c`, `binder.c`,
//! `framebuffer.c`, `nx/include/switch/nvidia/graphic_buffer.h`, and Eden
//! `src/core/hle/service/nvnflinger/parcel.h`, `graphic_buffer_producer.h`,
//! `buffer_queue_producer.cpp` `BufferQueueProducer::Transact`, `ui/graphic_buffer.h`,
//! `ui/fence.h`, `status.h`.
#![forbid(unsafe_code)]

pub mod fence;
pub mod graphic_buffer;
pub mod parcel;
pub mod producer;

pub use fence::{Fence, MultiFence};
pub use graphic_buffer::GraphicBuffer;
pub use parcel::{ParcelError, ParcelReader, ParcelWriter};
pub use producer::{QueueBufferInput, QueueBufferOutput, Status};

/// Commands of IHOSBinderDriver (vi's relay service, IADS 100; not a domain). libnx
/// `binder.c` `binderTransactParcel` (0 before 3.0.0, 3 after), `binderAdjustRefcount`,
/// `binderGetNativeHandle`; Eden `nvnflinger/hos_binder_driver.cpp`.
pub mod driver {
    /// TransactParcel: raw {s32 id, u32 code, u32 flags}, A = request parcel, B = reply.
    pub const TRANSACT_PARCEL: u32 = 0;
    /// AdjustRefcount: raw {s32 id, s32 addval, s32 type (0 weak, 1 strong)}.
    pub const ADJUST_REFCOUNT: u32 = 1;
    /// GetNativeHandle: raw {s32 id, u32 0xF} -> one handle (the buffer event).
    pub const GET_NATIVE_HANDLE: u32 = 2;
    /// TransactParcelAuto (3.0.0+): as 0 with auto buffers.
    pub const TRANSACT_PARCEL_AUTO: u32 = 3;

    /// Weak reference (AdjustRefcount type 0).
    pub const REF_WEAK: i32 = 0;
    /// Strong reference (AdjustRefcount type 1).
    pub const REF_STRONG: i32 = 1;
    /// GetNativeHandle's argument for the buffer-available event.
    pub const NATIVE_HANDLE_BUFFER_EVENT: u32 = 0xF;

    /// The raw data of TransactParcel / TransactParcelAuto.
    pub fn transact_raw(binder_id: i32, code: u32, flags: u32) -> [u8; 12] {
        words([binder_id.to_le_bytes(), code.to_le_bytes(), flags.to_le_bytes()])
    }

    /// The raw data of AdjustRefcount. Take weak then strong (+1), release strong then weak
    /// (-1) (libnx `binder.c` `binderInitSession`, `binderClose`).
    pub fn adjust_refcount_raw(binder_id: i32, addval: i32, kind: i32) -> [u8; 12] {
        words([binder_id.to_le_bytes(), addval.to_le_bytes(), kind.to_le_bytes()])
    }

    /// The raw data of GetNativeHandle.
    pub fn get_native_handle_raw(binder_id: i32, what: u32) -> [u8; 8] {
        let [a, b, c, d] = binder_id.to_le_bytes();
        let [e, f, g, h] = what.to_le_bytes();
        [a, b, c, d, e, f, g, h]
    }

    fn words(w: [[u8; 4]; 3]) -> [u8; 12] {
        let [[a, b, c, d], [e, f, g, h], [i, j, k, l]] = w;
        [a, b, c, d, e, f, g, h, i, j, k, l]
    }
}

/// Little-endian u32 at `at` of a fixed buffer the caller sized (an offset past the end
/// writes nothing; the layouts' tests pin every offset).
pub(crate) fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    if let Some(d) = at.checked_add(4).and_then(|end| buf.get_mut(at..end)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

/// Little-endian u64 at `at` (see [`put_u32`]).
pub(crate) fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    if let Some(d) = at.checked_add(8).and_then(|end| buf.get_mut(at..end)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

/// Little-endian u32 at `at`, None past the end.
pub(crate) fn get_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    <[u8; 4]>::try_from(b).ok().map(u32::from_le_bytes)
}

/// Little-endian u64 at `at`, None past the end.
pub(crate) fn get_u64(buf: &[u8], at: usize) -> Option<u64> {
    let b = buf.get(at..at.checked_add(8)?)?;
    <[u8; 8]>::try_from(b).ok().map(u64::from_le_bytes)
}
