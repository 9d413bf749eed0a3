//! The xcbuf protocol: service names, command ids, limits, the raw request/response
//! structs, and the result codes the server replies with.
//!
//! # Services
//! The sysmodule registers two services with `sm:` (8-byte names, zero-padded,
//! runtime-abi.md "sm:"):
//!
//! | name | constant | receive list (horizon-ipc.md §1.2) | pointer buffer |
//! |---|---|---|---|
//! | `xcbuf` | [`SINGLE`] | mode 2, one C entry covering the whole buffer | [`POINTER_BUFFER_SIZE`] |
//! | `xcbuf:i` | [`INDEXED`] | mode 2 + [`INDEXED_ENTRIES`]`.len()`, entry *k* takes X index *k* | [`INDEXED_POINTER_BUFFER_SIZE`] |
//!
//! Both answer the same commands. The receive list is armed in the *thread's* message
//! buffer before the kernel knows which session it will receive from, so one
//! `svcReplyAndReceive` loop can only serve one receive mode: serve each service on its
//! own thread (its own TLS message buffer and its own pointer buffer).
//!
//! [`MAX_SESSIONS`] is **per service**: each service's loop waits on its port plus at
//! most 16 sessions, 17 handles, well below the 0x40 handles `svcReplyAndReceive`
//! accepts (horizon-ipc.md §7).
//!
//! # Commands (CMIF, HIPC type 4; design.md "Protocol of the service")
//!
//! Each command is declared once, as a row of [`super::commands::COMMANDS`] (its id, X
//! in, C out with a size-table entry each, raw in, raw out, reply X) next to its handler:
//! GetInfo (0, [`GetInfoResponse`]), Echo (1, [`EchoResponse`]), Concat (2, 1 to
//! [`MAX_CONCAT_POINTERS`] X, [`ConcatResponse`]), Split (3, [`SplitRequest`] in, two
//! out-pointers, [`SplitResponse`]) and Stats (4, [`StatsResponse`]).
//!
//! Control (HIPC type 5) command 3 ([`CONTROL_QUERY_POINTER_BUFFER_SIZE`]) answers the
//! pointer-buffer size as a `u16` (horizon-ipc.md §5.2).
//!
//! Out-pointer sizes travel in the u16 size table (horizon-ipc.md §6.3), one entry per
//! C descriptor the client armed, in C index order. Each out region is carved from the
//! top of the pointer buffer with the size the table asks for (16-byte aligned,
//! horizon-ipc.md §5.1); a zero size carves nothing. The reply's X size is the number of
//! bytes actually written, which may be less (Echo and Concat write at most what the
//! inputs hold). Echo carves nothing: it replies the input straight from where the
//! kernel copied it, so an X of exactly the pointer-buffer size can be echoed.
//!
//! # Errors the server replies with
//! Unlike libstratosphere, which closes the session on a dispatch error
//! (horizon-ipc.md §5.1 "Error handling"), the xcbuf server **replies** with the error
//! in the SFCO header and no X descriptors (design.md "Server rules"). The checks run in
//! this order; the first that fails decides the result:
//!
//! | # | condition | result |
//! |---|---|---|
//! | 1 | the message, its receive list included as the client's header describes it, does not fit the 0x100-byte message buffer, or a non-zero receive-list offset lies inside its raw data | [`INVALID_REQUEST_SIZE`] 0x3240b |
//! | 2 | HIPC type 2 (Close) | no reply: the session is closed ([`crate::sf::Action::CloseSession`]) |
//! | 3 | HIPC type other than 2, 4, 5, 6, 7 (6 and 7, the WithContext forms, are served as 4 and 5) | [`UNKNOWN_COMMAND_TYPE`] 0x3260b |
//! | 4 | raw data shorter than 0x10 bytes | [`INVALID_REQUEST_SIZE`] 0x3240b |
//! | 5 | CMIF view (raw size − 0x10) shorter than the 16-byte SFCI header | [`INVALID_HEADER_SIZE`] 0x1940a |
//! | 6 | SFCI magic is not `0x49434653`, or version > 1 | [`INVALID_IN_HEADER`] 0x1a60a |
//! | 7 | command id unknown (type 4: > 4; type 5: not 3) | [`UNKNOWN_COMMAND_ID`] 0x1ba0a |
//! | 8 | A, B or W descriptors, a special header (PID, copy or move handles), or an X count the command does not take (Concat: 0 or more than 8; GetInfo, Stats, control: any) | [`INVALID_CMIF_REQUEST`] 0x3480b |
//! | 9 | raw data too short for the command's arguments (Split: 4 bytes after SFCI) or its u16 size table | [`INVALID_CMIF_REQUEST`] 0x3480b |
//! | 10 | an X with a non-zero size that does not lie inside the pointer buffer (the kernel never does this) | [`X_OUTSIDE_POINTER_BUFFER`] 0x1bab |
//! | 11 | Split: `at` greater than the size of X\[0\] | [`BAD_SPLIT_POINT`] 0xbab |
//! | 12 | an out region (its size-table size, from the top, 16-byte aligned) would reach below the end of the input data | [`POINTER_BUFFER_TOO_SMALL`] 0x11a0b |
//!
//! Checks 1 and 3–6 are the codec's ([`crate::cmif::parse_request`]). Copy handles a
//! request carries are handed back to the transport to close
//! ([`crate::sf::StrayHandles`]), whatever the result.
//!
//! A request that passes all checks is answered with result 0.
#![forbid(unsafe_code)]

use core::mem::{offset_of, size_of};

use static_assertions::{const_assert, const_assert_eq};

use crate::result::{self, ResultCode};
use crate::sf::raw::le;
use crate::sf::{ReceiveMode, ServiceIdentity};

// What the framework defines and the protocol uses, under the protocol's names.
pub use crate::hipc::{
    TLS_MESSAGE_BUFFER_SIZE as MESSAGE_BUFFER_SIZE, TLS_MESSAGE_BUFFER_WORDS as MESSAGE_BUFFER_WORDS,
};
pub use crate::sf::{
    CONTROL_QUERY_POINTER_BUFFER_SIZE, EntryLayout, MAX_SESSIONS, OUT_OF_SESSIONS, POINTER_BUFFER_TOO_SMALL,
    QueryPointerBufferSizeResponse, RECEIVE_LIST_OFFSET, RawData, X_OUTSIDE_POINTER_BUFFER, reply_raw_words,
    reply_words,
};

// ---------------------------------------------------------------------------------------
// Services, ids, limits
// ---------------------------------------------------------------------------------------

/// `xcbuf`: single-buffer receive list (mode 2) over [`POINTER_BUFFER_SIZE`] bytes.
pub const SINGLE: ServiceIdentity = ServiceIdentity {
    name: "xcbuf",
    pointer_buffer_size: POINTER_BUFFER_SIZE,
    receive_mode: ReceiveMode::Single,
    max_sessions: MAX_SESSIONS,
};

/// `xcbuf:i`: indexed receive list (mode 2 + n) of [`INDEXED_ENTRIES`] inside
/// [`INDEXED_POINTER_BUFFER_SIZE`] bytes.
pub const INDEXED: ServiceIdentity = ServiceIdentity {
    name: "xcbuf:i",
    pointer_buffer_size: INDEXED_POINTER_BUFFER_SIZE,
    receive_mode: ReceiveMode::Indexed(&INDEXED_ENTRIES),
    max_sessions: MAX_SESSIONS,
};

/// Both services, in the order the sysmodule registers and starts them.
pub const SERVICES: [ServiceIdentity; 2] = [SINGLE, INDEXED];

/// Version reported by [`GetInfoResponse::version`]. Bump on any wire change.
pub const PROTOCOL_VERSION: u32 = 1;

/// CMIF command ids of HIPC type 4 requests (what a client sends; the server's rows are
/// [`super::commands::COMMANDS`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Command {
    /// 0: protocol version, pointer-buffer size, receive mode, max sessions.
    GetInfo = 0,
    /// 1: X\[0\] back into C\[0\].
    Echo = 1,
    /// 2: all X (1..=8) concatenated into C\[0\].
    Concat = 2,
    /// 3: X\[0\] split at `at` into C\[0\] and C\[1\].
    Split = 3,
    /// 4: server counters.
    Stats = 4,
}

impl Command {
    /// Every command, in id order.
    pub const ALL: [Command; 5] = [Command::GetInfo, Command::Echo, Command::Concat, Command::Split, Command::Stats];

    /// The command with this CMIF id, if any.
    pub const fn from_id(id: u32) -> Option<Command> {
        match id {
            0 => Some(Command::GetInfo),
            1 => Some(Command::Echo),
            2 => Some(Command::Concat),
            3 => Some(Command::Split),
            4 => Some(Command::Stats),
            _ => None,
        }
    }

    /// The CMIF command id.
    pub const fn id(self) -> u32 {
        self as u32
    }
}

/// Most X descriptors a Concat request may carry.
pub const MAX_CONCAT_POINTERS: usize = 8;

/// Pointer buffer of `xcbuf` (the single C entry covers it). fs and spl use the same
/// size (horizon-ipc.md §5.1).
pub const POINTER_BUFFER_SIZE: usize = 0x800;

/// Pointer buffer of `xcbuf:i`: holds the [`INDEXED_ENTRIES`] at its bottom; the rest
/// is room for out regions.
pub const INDEXED_POINTER_BUFFER_SIZE: usize = 0x800;

/// The C entries `xcbuf:i` arms, in index order. The kernel puts an X of index *k* at
/// the start of entry *k* when it fits (horizon-ipc.md §3.3, mode n ≥ 3). Chosen so a
/// client can see both indexed-mode failures (0xce01): index 3 or above is past the last
/// entry, and an X of 0x41 bytes at index 2 is larger than its entry.
pub const INDEXED_ENTRIES: [EntryLayout; 3] = [
    EntryLayout { offset: 0x000, size: 0x200 },
    EntryLayout { offset: 0x200, size: 0x100 },
    EntryLayout { offset: 0x300, size: 0x40 },
];

// sm names are 1 to 8 bytes (runtime-abi.md "sm:").
const_assert!(!SINGLE.name.is_empty() && SINGLE.name.len() <= 8);
const_assert!(!INDEXED.name.is_empty() && INDEXED.name.len() <= 8);
// Sizes travel as u16 (QueryPointerBufferSize, C entry sizes).
const_assert!(POINTER_BUFFER_SIZE <= 0xFFFF);
const_assert!(INDEXED_POINTER_BUFFER_SIZE <= 0xFFFF);
const_assert!(INDEXED_ENTRIES.len() <= crate::hipc::RECEIVE_LIST_ENTRY_COUNT_MAX as usize);
const_assert!(!INDEXED_ENTRIES.is_empty());
// The entries lie inside the indexed pointer buffer, in order, without overlap.
const_assert!(INDEXED_ENTRIES[0].offset == 0);
const_assert!(INDEXED_ENTRIES[1].offset == INDEXED_ENTRIES[0].offset + INDEXED_ENTRIES[0].size);
const_assert!(INDEXED_ENTRIES[2].offset == INDEXED_ENTRIES[1].offset + INDEXED_ENTRIES[1].size);
const_assert!(INDEXED_ENTRIES[2].offset + INDEXED_ENTRIES[2].size <= INDEXED_POINTER_BUFFER_SIZE);
// Each service's session limit is within the framework's table, and fits an i32 (sm's
// RegisterService, svcCreatePort).
const_assert!(SINGLE.max_sessions >= 1 && SINGLE.max_sessions <= MAX_SESSIONS);
const_assert!(INDEXED.max_sessions >= 1 && INDEXED.max_sessions <= MAX_SESSIONS);

// ---------------------------------------------------------------------------------------
// Result codes the server replies (see the table in the module doc)
// ---------------------------------------------------------------------------------------

/// HIPC type not Close, Request or Control (0x3260b).
pub const UNKNOWN_COMMAND_TYPE: ResultCode = result::hipc::UNKNOWN_COMMAND_TYPE;
/// Descriptor counts, special header or raw size do not match the command (0x3480b).
pub const INVALID_CMIF_REQUEST: ResultCode = result::hipc::INVALID_CMIF_REQUEST;
/// Raw data shorter than 0x10 bytes or past the message buffer (0x3240b).
pub const INVALID_REQUEST_SIZE: ResultCode = result::hipc::INVALID_REQUEST_SIZE;
/// CMIF view too small for the SFCI header (0x1940a).
pub const INVALID_HEADER_SIZE: ResultCode = result::cmif::INVALID_HEADER_SIZE;
/// Wrong SFCI magic or version (0x1a60a).
pub const INVALID_IN_HEADER: ResultCode = result::cmif::INVALID_IN_HEADER;
/// Unknown command id (0x1ba0a).
pub const UNKNOWN_COMMAND_ID: ResultCode = result::cmif::UNKNOWN_COMMAND_ID;
/// Split's `at` is past the end of X\[0\] (xcbuf 427/5, 0xbab).
pub const BAD_SPLIT_POINT: ResultCode = result::xcbuf::BAD_SPLIT_POINT;
// X_OUTSIDE_POINTER_BUFFER (row 10) and POINTER_BUFFER_TOO_SMALL (row 12) are the
// framework's (re-exported above), as is OUT_OF_SESSIONS (returned by
// `Server::open_session`, never replied).

// ---------------------------------------------------------------------------------------
// Raw structs
// ---------------------------------------------------------------------------------------

/// Out-data of GetInfo (command 0).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct GetInfoResponse {
    /// [`PROTOCOL_VERSION`].
    pub version: u32,
    /// Bytes of the service's pointer buffer.
    pub pointer_buffer_size: u32,
    /// Receive-list mode the server arms: 2 = single, n ≥ 3 = indexed with n − 2 entries.
    pub receive_mode: u32,
    /// [`MAX_SESSIONS`].
    pub max_sessions: u32,
}
const_assert_eq!(size_of::<GetInfoResponse>(), 16);
const_assert_eq!(offset_of!(GetInfoResponse, version), 0);
const_assert_eq!(offset_of!(GetInfoResponse, pointer_buffer_size), 4);
const_assert_eq!(offset_of!(GetInfoResponse, receive_mode), 8);
const_assert_eq!(offset_of!(GetInfoResponse, max_sessions), 12);

impl RawData for GetInfoResponse {
    const SIZE: usize = size_of::<Self>();
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        le::put_u32(out, offset_of!(Self, version), self.version)?;
        le::put_u32(out, offset_of!(Self, pointer_buffer_size), self.pointer_buffer_size)?;
        le::put_u32(out, offset_of!(Self, receive_mode), self.receive_mode)?;
        le::put_u32(out, offset_of!(Self, max_sessions), self.max_sessions)
    }
    fn read_from(b: &[u8]) -> Result<Self, ResultCode> {
        Ok(Self {
            version: le::u32(b, offset_of!(Self, version))?,
            pointer_buffer_size: le::u32(b, offset_of!(Self, pointer_buffer_size))?,
            receive_mode: le::u32(b, offset_of!(Self, receive_mode))?,
            max_sessions: le::u32(b, offset_of!(Self, max_sessions))?,
        })
    }
}

/// Out-data of Echo (command 1).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct EchoResponse {
    /// Bytes written to C\[0\]: `min(X[0] size, C[0] size)`.
    pub bytes_written: u32,
}
const_assert_eq!(size_of::<EchoResponse>(), 4);
const_assert_eq!(offset_of!(EchoResponse, bytes_written), 0);

impl RawData for EchoResponse {
    const SIZE: usize = size_of::<Self>();
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        le::put_u32(out, offset_of!(Self, bytes_written), self.bytes_written)
    }
    fn read_from(b: &[u8]) -> Result<Self, ResultCode> {
        Ok(Self { bytes_written: le::u32(b, offset_of!(Self, bytes_written))? })
    }
}

/// [`ConcatResponse::offsets`] value for a zero-size X (the kernel gives it address 0)
/// and for slots past the last X.
pub const NO_OFFSET: u32 = u32::MAX;

/// Out-data of Concat (command 2).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ConcatResponse {
    /// Bytes written to C\[0\]: `min(sum of X sizes, C[0] size)`.
    pub bytes_written: u32,
    /// Offset of each X's data inside the pointer buffer, as the server saw it, in
    /// descriptor order; [`NO_OFFSET`] for zero-size X and unused slots.
    pub offsets: [u32; MAX_CONCAT_POINTERS],
}
const_assert_eq!(size_of::<ConcatResponse>(), 36);
const_assert_eq!(offset_of!(ConcatResponse, bytes_written), 0);
const_assert_eq!(offset_of!(ConcatResponse, offsets), 4);

impl Default for ConcatResponse {
    fn default() -> Self {
        Self { bytes_written: 0, offsets: [NO_OFFSET; MAX_CONCAT_POINTERS] }
    }
}

impl RawData for ConcatResponse {
    const SIZE: usize = size_of::<Self>();
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        // One length check, then every field a whole word in order (bytes_written, then
        // the offsets: the layout asserted above).
        let out = out.get_mut(..Self::SIZE).ok_or(result::xcbuf::RAW_DATA_TOO_SHORT)?;
        let (words, _) = out.as_chunks_mut::<4>();
        let words = <&mut [[u8; 4]; 1 + MAX_CONCAT_POINTERS]>::try_from(words)
            .map_err(|_| result::xcbuf::RAW_DATA_TOO_SHORT)?;
        let [o0, o1, o2, o3, o4, o5, o6, o7] = self.offsets;
        *words = [self.bytes_written, o0, o1, o2, o3, o4, o5, o6, o7].map(u32::to_le_bytes);
        Ok(())
    }
    fn read_from(b: &[u8]) -> Result<Self, ResultCode> {
        let mut r = Self { bytes_written: le::u32(b, offset_of!(Self, bytes_written))?, ..Self::default() };
        let mut at = offset_of!(Self, offsets);
        for offset in r.offsets.iter_mut() {
            *offset = le::u32(b, at)?;
            at += 4;
        }
        Ok(r)
    }
}

/// In-data of Split (command 3).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SplitRequest {
    /// Split point: C\[0\] gets bytes `0..at` of X\[0\], C\[1\] bytes `at..`.
    pub at: u32,
}
const_assert_eq!(size_of::<SplitRequest>(), 4);
const_assert_eq!(offset_of!(SplitRequest, at), 0);

impl RawData for SplitRequest {
    const SIZE: usize = size_of::<Self>();
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        le::put_u32(out, offset_of!(Self, at), self.at)
    }
    fn read_from(b: &[u8]) -> Result<Self, ResultCode> {
        Ok(Self { at: le::u32(b, offset_of!(Self, at))? })
    }
}

/// Out-data of Split (command 3).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SplitResponse {
    /// Bytes written to C\[0\]: `min(at, C[0] size)`.
    pub head_written: u32,
    /// Bytes written to C\[1\]: `min(X size − at, C[1] size)`.
    pub tail_written: u32,
}
const_assert_eq!(size_of::<SplitResponse>(), 8);
const_assert_eq!(offset_of!(SplitResponse, head_written), 0);
const_assert_eq!(offset_of!(SplitResponse, tail_written), 4);

impl RawData for SplitResponse {
    const SIZE: usize = size_of::<Self>();
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        le::put_u32(out, offset_of!(Self, head_written), self.head_written)?;
        le::put_u32(out, offset_of!(Self, tail_written), self.tail_written)
    }
    fn read_from(b: &[u8]) -> Result<Self, ResultCode> {
        Ok(Self {
            head_written: le::u32(b, offset_of!(Self, head_written))?,
            tail_written: le::u32(b, offset_of!(Self, tail_written))?,
        })
    }
}

/// Out-data of Stats (command 4): counters of one service since it started.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StatsResponse {
    /// Messages handled other than Close (including the ones answered with an error
    /// and this Stats request itself).
    pub requests: u64,
    /// Sum of the sizes of every received X.
    pub bytes_in: u64,
    /// Sum of the sizes of every reply X.
    pub bytes_out: u64,
    /// Sessions open now.
    pub open_sessions: u32,
    /// Sessions ever opened.
    pub total_sessions: u32,
    /// Requests answered with a failure result.
    pub errors: u64,
    /// Most bytes of the pointer buffer one request used: input data (up to the end of
    /// the highest X) plus the carved out regions (from the lowest carve to the top).
    pub pointer_buffer_high_water: u32,
    /// Zero.
    pub reserved: u32,
}
const_assert_eq!(size_of::<StatsResponse>(), 48);
const_assert_eq!(offset_of!(StatsResponse, requests), 0);
const_assert_eq!(offset_of!(StatsResponse, bytes_in), 8);
const_assert_eq!(offset_of!(StatsResponse, bytes_out), 16);
const_assert_eq!(offset_of!(StatsResponse, open_sessions), 24);
const_assert_eq!(offset_of!(StatsResponse, total_sessions), 28);
const_assert_eq!(offset_of!(StatsResponse, errors), 32);
const_assert_eq!(offset_of!(StatsResponse, pointer_buffer_high_water), 40);
const_assert_eq!(offset_of!(StatsResponse, reserved), 44);

impl RawData for StatsResponse {
    const SIZE: usize = size_of::<Self>();
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        le::put_u64(out, offset_of!(Self, requests), self.requests)?;
        le::put_u64(out, offset_of!(Self, bytes_in), self.bytes_in)?;
        le::put_u64(out, offset_of!(Self, bytes_out), self.bytes_out)?;
        le::put_u32(out, offset_of!(Self, open_sessions), self.open_sessions)?;
        le::put_u32(out, offset_of!(Self, total_sessions), self.total_sessions)?;
        le::put_u64(out, offset_of!(Self, errors), self.errors)?;
        le::put_u32(out, offset_of!(Self, pointer_buffer_high_water), self.pointer_buffer_high_water)?;
        le::put_u32(out, offset_of!(Self, reserved), self.reserved)
    }
    fn read_from(b: &[u8]) -> Result<Self, ResultCode> {
        Ok(Self {
            requests: le::u64(b, offset_of!(Self, requests))?,
            bytes_in: le::u64(b, offset_of!(Self, bytes_in))?,
            bytes_out: le::u64(b, offset_of!(Self, bytes_out))?,
            open_sessions: le::u32(b, offset_of!(Self, open_sessions))?,
            total_sessions: le::u32(b, offset_of!(Self, total_sessions))?,
            errors: le::u64(b, offset_of!(Self, errors))?,
            pointer_buffer_high_water: le::u32(b, offset_of!(Self, pointer_buffer_high_water))?,
            reserved: le::u32(b, offset_of!(Self, reserved))?,
        })
    }
}
