//! The host's `lm` (HLE): the log manager a sysmodule or NRO built with nx logs through.
//!
//! Objects and commands (Atmosphère `libstratosphere/source/lm/sf/lm_i_log_service.hpp`,
//! `srv/lm_logger_impl.cpp`, `srv/lm_ipc_server.cpp`; Eden `service/lm/lm.cpp`):
//! - ILogService ("lm"): 0 OpenLogger(ClientProcessId) -> ILogger. The request sends the
//!   pid (HIPC special header) and a u64 placeholder; the server keeps the kernel's pid.
//! - ILogger: 0 Log(InAutoSelectBuffer): one X and one A descriptor, the data in the X
//!   when it fits the server's pointer buffer (the A is then (0, 0)), otherwise in the A
//!   (X (0, 0)); Atmosphère reads the A when its address is not 0, else the X. No raw
//!   data; the reply is always success. 1 SetDestination(u32) [3.0.0+]: success.
//!
//! A Log message is one log packet ([`PacketHeader`], then data chunks, each a ULEB128
//! key, a ULEB128 size and the bytes; Atmosphère `impl/lm_log_packet_header.hpp`,
//! `impl/lm_log_data_chunk.hpp`, `srv/lm_log_packet_parser.cpp`). The bench prints the
//! text of each log line as a line of the guest's output, `[lm] <text>` ([`LineAssembler`]).

use xcbuf_common::sm::ServiceName;

use super::{HleEnv, HleObject, HleReply, HleRequest, HleService};
use crate::kernel::{Kernel, SessionId};

/// The service name (Atmosphère `lm_service_name.hpp` `LogServiceName`).
pub const SERVICE_NAME: &str = "lm";
/// Sessions to "lm" at once (Atmosphère `lm_ipc_server.cpp` `LogSessionCountMax`).
pub const MAX_SESSIONS: u32 = 42;
/// lm's pointer buffer (Atmosphère `lm_ipc_server.cpp` `ServerManagerOptions::PointerBufferSize`);
/// the answer to control command 3 QueryPointerBufferSize on its sessions.
pub const POINTER_BUFFER_SIZE: u16 = 0x400;
/// ILogService command ids.
pub const OPEN_LOGGER: u32 = 0;
/// ILogger command ids.
pub const LOG: u32 = 0;
pub const SET_DESTINATION: u32 = 1;

/// `sizeof(LogPacketHeader)` (Atmosphère `lm_log_packet_header.hpp` `LogPacketHeaderSize`).
pub const HEADER_SIZE: usize = 0x18;
/// Packet flags (Atmosphère `LogPacketHeader::IsHead/IsTail/IsLittleEndian`; nx
/// `logpacket` `detail.rs` `LOG_PACKET_FLAG_*`).
pub const FLAG_HEAD: u8 = 1 << 0;
pub const FLAG_TAIL: u8 = 1 << 1;
pub const FLAG_LITTLE_ENDIAN: u8 = 1 << 2;

/// Data chunk keys (Atmosphère `lm_log_data_chunk.hpp` `LogDataChunkKey`).
pub mod key {
    pub const LOG_SESSION_BEGIN: u64 = 0;
    pub const LOG_SESSION_END: u64 = 1;
    pub const TEXT_LOG: u64 = 2;
    pub const LINE_NUMBER: u64 = 3;
    pub const FILE_NAME: u64 = 4;
    pub const FUNCTION_NAME: u64 = 5;
    pub const MODULE_NAME: u64 = 6;
    pub const THREAD_NAME: u64 = 7;
    pub const LOG_PACKET_DROP_COUNT: u64 = 8;
    pub const USER_SYSTEM_CLOCK: u64 = 9;
    pub const PROCESS_NAME: u64 = 10;
}

/// The 0x18-byte packet header (Atmosphère `lm_log_packet_header.hpp`): u64 process_id
/// @0, u64 thread_id @8, u8 flags @0x10, pad @0x11, u8 severity @0x12 (0 Trace .. 4
/// Fatal), u8 verbosity @0x13, u32 payload_size @0x14. Little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketHeader {
    pub process_id: u64,
    pub thread_id: u64,
    pub flags: u8,
    pub severity: u8,
    pub verbosity: u8,
    pub payload_size: u32,
}

impl PacketHeader {
    pub fn parse(bytes: &[u8]) -> Option<PacketHeader> {
        let h = bytes.get(..HEADER_SIZE)?;
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or_default());
        Some(PacketHeader {
            process_id: u64_at(0),
            thread_id: u64_at(8),
            flags: h[0x10],
            severity: h[0x12],
            verbosity: h[0x13],
            payload_size: u32::from_le_bytes([h[0x14], h[0x15], h[0x16], h[0x17]]),
        })
    }

    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..8].copy_from_slice(&self.process_id.to_le_bytes());
        b[8..16].copy_from_slice(&self.thread_id.to_le_bytes());
        b[0x10] = self.flags;
        b[0x12] = self.severity;
        b[0x13] = self.verbosity;
        b[0x14..0x18].copy_from_slice(&self.payload_size.to_le_bytes());
        b
    }

    pub fn is_head(&self) -> bool {
        self.flags & FLAG_HEAD != 0
    }

    pub fn is_tail(&self) -> bool {
        self.flags & FLAG_TAIL != 0
    }
}

/// Reads a ULEB128 value at `bytes[*pos..]` and moves `pos` past it, as Atmosphère
/// `lm_log_packet_parser.cpp` `ParseUleb128`: at most 9 groups of 7 bits (while
/// `shift + 7 <= 64`); None when the bytes end first or the value is longer.
pub fn read_uleb128(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0u32;
    let mut at = *pos;
    while shift + 7 <= 64 {
        let b = *bytes.get(at)?;
        value |= u64::from(b & 0x7F) << shift;
        at += 1;
        if b & 0x80 == 0 {
            *pos = at;
            return Some(value);
        }
        shift += 7;
    }
    None
}

/// Appends `v` as ULEB128 (Atmosphère `lm_log_packet_transmitter_base.cpp` `PushUleb128`).
pub fn push_uleb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// One data chunk of a packet's payload. `data` may be shorter than `size` when the
/// chunk continues in the next packet (Atmosphère `ParseTextLogWithContext` carries the
/// rest over).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub key: u64,
    pub size: u64,
    pub data: &'a [u8],
}

/// A decoded Log message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub header: PacketHeader,
    /// The chunks in order; a truncated key or size ends the list (Atmosphère's parser
    /// stops there too).
    pub chunks: Vec<Chunk<'a>>,
    /// Bytes at the start of the payload that continue the previous packet's last chunk.
    pub carried: &'a [u8],
}

/// Why a Log message was not decoded (the service still answers success: Atmosphère
/// `LoggerImpl::Log` succeeds and logs nothing when `SetProcessId` rejects the size).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketError {
    /// Shorter than the 0x18-byte header.
    ShortHeader { len: usize },
    /// 0x18 + payload_size is not the buffer's size (Atmosphère `SetProcessId`).
    SizeMismatch { payload_size: u32, len: usize },
}

/// Decodes one Log message: the header, then the chunks of the payload. `carry` is how
/// many payload bytes first continue the previous packet's last chunk (0 after a Head).
pub fn decode_packet(bytes: &[u8], carry: u64) -> Result<Packet<'_>, PacketError> {
    let header = PacketHeader::parse(bytes).ok_or(PacketError::ShortHeader { len: bytes.len() })?;
    if HEADER_SIZE as u64 + u64::from(header.payload_size) != bytes.len() as u64 {
        return Err(PacketError::SizeMismatch { payload_size: header.payload_size, len: bytes.len() });
    }
    let payload = &bytes[HEADER_SIZE..];
    let carry = if header.is_head() { 0 } else { usize::try_from(carry).unwrap_or(usize::MAX).min(payload.len()) };
    let (carried, rest) = payload.split_at(carry);
    let mut chunks = Vec::new();
    let mut pos = 0usize;
    while pos < rest.len() {
        let Some(key) = read_uleb128(rest, &mut pos) else { break };
        let Some(size) = read_uleb128(rest, &mut pos) else { break };
        let available = (rest.len() - pos) as u64;
        let take = size.min(available) as usize;
        chunks.push(Chunk { key, size, data: &rest[pos..pos + take] });
        pos += take;
    }
    Ok(Packet { header, chunks, carried })
}

/// Builds one packet (for tests and crafted guests): the header with `flags` and the
/// payload size, then each (key, bytes) chunk with ULEB128 key and size, as Atmosphère's
/// transmitter writes them (`PushDataChunkImpl`).
pub fn encode_packet(process_id: u64, thread_id: u64, flags: u8, chunks: &[(u64, &[u8])]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (k, data) in chunks {
        push_uleb128(&mut payload, *k);
        push_uleb128(&mut payload, data.len() as u64);
        payload.extend_from_slice(data);
    }
    let header =
        PacketHeader { process_id, thread_id, flags, severity: 0, verbosity: 0, payload_size: payload.len() as u32 };
    let mut out = header.to_bytes().to_vec();
    out.extend_from_slice(&payload);
    out
}

/// Turns an ILogger's packets into lines of output.
///
/// Atmosphère's transmitter flags the first packet of a log line Head and the last Tail
/// (one packet: Head|Tail), and a text longer than a packet continues in the following
/// packets (`lm_log_packet_transmitter_base.cpp`). nx's `logpacket` (`LogPacket::encode_impl`)
/// sends the first packet as Head|LittleEndian, never Tail, splits the text into 0x7F-byte
/// packets and flags the last continuation Tail; a short text is one Head-only packet.
/// So a line ends at a Tail, at the next Head, or when the logger closes ([`finish`]),
/// not only at a Tail. Continuations are joined while they come from the same thread
/// (Atmosphère `ParseTextLogWithContext`: same process and thread as the previous
/// packet); a non-Head packet without an open line is dropped, as there.
///
/// [`finish`]: LineAssembler::finish
#[derive(Clone, Debug, Default)]
pub struct LineAssembler {
    /// The open line: the thread it came from and its text so far.
    open: Option<(u64, Vec<u8>)>,
    /// Bytes of the last chunk still to come in the next packet, and whether it is text.
    carry: u64,
    carry_is_text: bool,
}

/// Prefix of every lm line in the guest's output.
pub const LINE_PREFIX: &str = "[lm] ";

impl LineAssembler {
    /// Feeds one Log message; returns the lines it completed (with [`LINE_PREFIX`]).
    /// A message that does not decode gives nothing (see [`PacketError`]).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let Ok(packet) = decode_packet(bytes, self.carry) else { return lines };
        let header = packet.header;
        if header.is_head() {
            lines.extend(self.finish());
            self.open = Some((header.thread_id, Vec::new()));
        } else if !matches!(&self.open, Some((thread, _)) if *thread == header.thread_id) {
            // Not a Head and no line of this thread is open: dropped.
            self.carry = 0;
            return lines;
        }
        let Some((_, text)) = self.open.as_mut() else { return lines };
        if self.carry_is_text {
            text.extend_from_slice(packet.carried);
        }
        self.carry -= (packet.carried.len() as u64).min(self.carry);
        for chunk in &packet.chunks {
            if chunk.key == key::TEXT_LOG {
                text.extend_from_slice(chunk.data);
            }
            if (chunk.data.len() as u64) < chunk.size {
                self.carry = chunk.size - chunk.data.len() as u64;
                self.carry_is_text = chunk.key == key::TEXT_LOG;
            }
        }
        if header.is_tail() {
            lines.extend(self.finish());
        }
        lines
    }

    /// Ends the open line (the logger closed, or a new line starts): its text as lines
    /// (split at '\n', a trailing newline dropped), or nothing if none is open or it is empty.
    pub fn finish(&mut self) -> Vec<String> {
        self.carry = 0;
        self.carry_is_text = false;
        let Some((_, text)) = self.open.take() else { return Vec::new() };
        let text = String::from_utf8_lossy(&text);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if text.is_empty() {
            return Vec::new();
        }
        text.split('\n').map(|l| format!("{LINE_PREFIX}{}", l.trim_end_matches('\r'))).collect()
    }
}

/// The `lm` registration (ILogService).
pub struct LmService;

impl HleService for LmService {
    fn name(&self) -> ServiceName {
        ServiceName::literal(SERVICE_NAME)
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn pointer_buffer_size(&self) -> u16 {
        POINTER_BUFFER_SIZE
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(LogService)
    }
}

/// libstratosphere `HipcCommandProcessor::PrepareForProcess`
/// (`sf_impl_command_serialization.hpp`): the request's pid flag, X, A, B, W and handle
/// counts must be the command's, else InvalidCmifRequest, and `ServerSessionManager::
/// ProcessRequest` closes the session (no reply).
fn shape_is(request: &HleRequest<'_>, pid: bool, x: usize, a: usize, raw: usize) -> bool {
    request.pid.is_some() == pid
        && request.x.len() == x
        && request.a.len() == a
        && request.b.is_empty()
        && request.w.is_empty()
        && request.copy_handles.is_empty()
        && request.move_handles.is_empty()
        && request.payload.len() >= raw
}

fn bad_shape(request: &HleRequest<'_>, env: &mut HleEnv<'_>, interface: &str) -> HleReply {
    let line = format!(
        "lm: {interface} command {} from {}: not the command's pid/buffers/handles/size -> session closed",
        request.command_id,
        env.caller().thread_name
    );
    env.trace(line);
    HleReply::Close
}

/// ILogService, the root object of an "lm" session.
pub struct LogService;

impl HleObject for LogService {
    fn interface(&self) -> &'static str {
        "ILogService"
    }

    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        match request.command_id {
            // 0 OpenLogger(ClientProcessId): send-pid + a u64 placeholder; the logger keeps
            // the kernel's pid (Atmosphère `LogServiceImpl::OpenLogger`, `LoggerImpl` ctor).
            OPEN_LOGGER => {
                if !shape_is(request, true, 0, 0, 8) {
                    return bad_shape(request, env, self.interface());
                }
                let caller = env.caller();
                HleReply::object(Box::new(Logger {
                    pid: request.pid.unwrap_or(caller.pid),
                    process: caller.process,
                    lines: LineAssembler::default(),
                }))
            }
            _ => HleReply::Unknown,
        }
    }
}

/// ILogger: the packets of one client, turned into lines of its output.
pub struct Logger {
    /// The pid OpenLogger got (Atmosphère writes it over each packet's process_id).
    pub pid: u64,
    /// The process whose output the lines join.
    process: crate::kernel::ProcessId,
    lines: LineAssembler,
}

impl Logger {
    fn print(k: &mut Kernel, process: crate::kernel::ProcessId, lines: Vec<String>) {
        let echo = k.options.echo_output;
        let Some(p) = k.processes.get_mut(process) else { return };
        for line in lines {
            if echo {
                println!("[{}] {line}", p.name);
            }
            p.output.push(line);
        }
    }
}

impl HleObject for Logger {
    fn interface(&self) -> &'static str {
        "ILogger"
    }

    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        match request.command_id {
            // 0 Log(InAutoSelectBuffer): one X and one A. libstratosphere
            // `ProcessBufferImpl` (HipcAutoSelect, In) takes the A when its address is not
            // 0 (its mode must be Normal, `IsMapTransferModeValid`), else the X. Eden
            // `ILogger::Log` (`ReadBuffer`) takes the A when its size is not 0.
            LOG => {
                if !shape_is(request, false, 1, 1, 0) {
                    return bad_shape(request, env, self.interface());
                }
                let (a, x) = (request.a[0], request.x[0]);
                let data = if a.address != 0 {
                    if a.attribute != 0 {
                        return bad_shape(request, env, self.interface());
                    }
                    env.read(a.address, a.size)
                } else {
                    env.read(x.address, x.size)
                };
                // The kernel copied (X) or mapped (A) it; an unreadable buffer fails the
                // client's SendSyncRequest in the kernel before the server sees it.
                let Ok(data) = data else { return HleReply::Close };
                // Atmosphère `LoggerImpl::Log`: a size mismatch logs nothing and succeeds.
                for line in self.lines.feed(&data) {
                    env.print(&line);
                }
                HleReply::ok(Vec::new())
            }
            // 1 SetDestination(u32) [3.0.0+]: Atmosphère stores it for every logger
            // (`LoggerImpl::SetDestination`); the bench prints whatever the destination.
            SET_DESTINATION => {
                if !shape_is(request, false, 0, 0, 4) {
                    return bad_shape(request, env, self.interface());
                }
                HleReply::ok(Vec::new())
            }
            _ => HleReply::Unknown,
        }
    }

    /// The logger closes: an open line (nx sends a short text as one Head-only packet)
    /// becomes output now.
    fn closed(&mut self, k: &mut Kernel, _s: SessionId) {
        let lines = self.lines.finish();
        Logger::print(k, self.process, lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header bytes as Atmosphère `lm_log_packet_header.hpp` lays them out.
    #[test]
    fn packet_header_fields_sit_at_the_atmosphere_offsets() {
        let mut b = [0u8; 0x18];
        b[0..8].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        b[8..16].copy_from_slice(&0x99u64.to_le_bytes());
        b[0x10] = 0x07;
        b[0x11] = 0xEE; // padding: ignored
        b[0x12] = 3;
        b[0x13] = 1;
        b[0x14..0x18].copy_from_slice(&0x0102_0304u32.to_le_bytes());
        let h = PacketHeader::parse(&b).unwrap();
        assert_eq!(
            h,
            PacketHeader {
                process_id: 0x1122_3344_5566_7788,
                thread_id: 0x99,
                flags: 7,
                severity: 3,
                verbosity: 1,
                payload_size: 0x0102_0304
            }
        );
        assert!(h.is_head() && h.is_tail());
        assert_eq!(PacketHeader::parse(&b[..0x17]), None);
    }

    /// Atmosphère `ParseUleb128`: 7 bits a byte, low group first, bit 7 = more; at most
    /// 9 bytes; truncated input is no value.
    #[test]
    fn uleb128_reads_like_atmosphere_parse_uleb128() {
        let mut pos = 0;
        assert_eq!(read_uleb128(&[0x7F], &mut pos), Some(0x7F));
        assert_eq!(pos, 1);
        let mut pos = 0;
        assert_eq!(read_uleb128(&[0xE5, 0x8E, 0x26, 0xAA], &mut pos), Some(624_485));
        assert_eq!(pos, 3);
        let mut pos = 0;
        assert_eq!(read_uleb128(&[0x80, 0x80], &mut pos), None, "truncated");
        assert_eq!(pos, 0);
        let mut pos = 0;
        assert_eq!(read_uleb128(&[0x80; 10], &mut pos), None, "longer than 9 groups");
        let mut enc = Vec::new();
        push_uleb128(&mut enc, 624_485);
        assert_eq!(enc, [0xE5, 0x8E, 0x26]);
        let mut enc = Vec::new();
        push_uleb128(&mut enc, 0x80);
        assert_eq!(enc, [0x80, 0x01]);
    }

    /// The bytes of one Atmosphère-style packet (Head|Tail|LE, TextLog "hello"), written
    /// out by hand: header, then key 2, size 5, "hello".
    #[test]
    fn atmosphere_head_tail_packet_decodes_to_one_line() {
        let mut bytes = vec![0u8; 0x18];
        bytes[0] = 0x51; // pid (overwritten by the server)
        bytes[8] = 0x7; // thread id
        bytes[0x10] = FLAG_HEAD | FLAG_TAIL | FLAG_LITTLE_ENDIAN;
        bytes[0x14] = 7;
        bytes.extend_from_slice(&[0x02, 0x05, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(bytes, encode_packet(0x51, 7, 0x07, &[(key::TEXT_LOG, b"hello")]));
        let p = decode_packet(&bytes, 0).unwrap();
        assert_eq!(p.chunks, vec![Chunk { key: 2, size: 5, data: b"hello" }]);
        let mut a = LineAssembler::default();
        assert_eq!(a.feed(&bytes), vec!["[lm] hello".to_string()]);
        assert!(a.finish().is_empty());
    }

    /// Atmosphère `LoggerImpl::Log` / `SetProcessId`: 0x18 + payload_size must be the
    /// buffer's size, else nothing is logged.
    #[test]
    fn packet_whose_payload_size_disagrees_with_the_buffer_is_not_logged() {
        let mut bytes = encode_packet(1, 1, FLAG_HEAD | FLAG_TAIL, &[(key::TEXT_LOG, b"x")]);
        bytes.push(0);
        assert_eq!(decode_packet(&bytes, 0), Err(PacketError::SizeMismatch { payload_size: 3, len: 0x18 + 4 }));
        assert_eq!(decode_packet(&bytes[..0x10], 0), Err(PacketError::ShortHeader { len: 0x10 }));
        assert!(LineAssembler::default().feed(&bytes).is_empty());
    }

    /// nx `logpacket` `encode_impl`: a short text is one packet flagged Head|LE (0x05),
    /// text chunk first, then the other non-empty chunks, key and size as single bytes;
    /// never Tail. The line ends when the logger closes (or the next Head).
    #[test]
    fn nx_head_only_packet_is_a_line_at_close_or_at_the_next_head() {
        let nx = encode_packet(
            0,
            3,
            FLAG_HEAD | FLAG_LITTLE_ENDIAN,
            &[(key::TEXT_LOG, b"first"), (key::LINE_NUMBER, &12u32.to_le_bytes()), (key::MODULE_NAME, b"mod")],
        );
        assert_eq!(&nx[0x18..0x1A], &[0x02, 0x05]);
        let mut a = LineAssembler::default();
        assert!(a.feed(&nx).is_empty());
        let second = encode_packet(0, 3, FLAG_HEAD | FLAG_LITTLE_ENDIAN, &[(key::TEXT_LOG, b"second")]);
        assert_eq!(a.feed(&second), vec!["[lm] first".to_string()]);
        assert_eq!(a.finish(), vec!["[lm] second".to_string()]);
    }

    /// nx splits text into 0x7F-byte packets: Head first, Tail on the last continuation.
    #[test]
    fn nx_continuation_packets_join_until_tail() {
        let long: Vec<u8> = (0..0x7F + 10).map(|i| b'a' + (i % 26) as u8).collect();
        let head = encode_packet(0, 3, FLAG_HEAD | FLAG_LITTLE_ENDIAN, &[(key::TEXT_LOG, &long[..0x7F])]);
        let tail = encode_packet(0, 3, FLAG_TAIL | FLAG_LITTLE_ENDIAN, &[(key::TEXT_LOG, &long[0x7F..])]);
        let mut a = LineAssembler::default();
        assert!(a.feed(&head).is_empty());
        assert_eq!(a.feed(&tail), vec![format!("[lm] {}", String::from_utf8(long).unwrap())]);
    }

    /// A continuation from another thread, or with no line open, is dropped (Atmosphère
    /// `ParseTextLogWithContext`: not Head and not a continuation -> ignored).
    #[test]
    fn continuation_without_an_open_line_of_its_thread_is_dropped() {
        let mut a = LineAssembler::default();
        let tail = encode_packet(0, 3, FLAG_TAIL, &[(key::TEXT_LOG, b"orphan")]);
        assert!(a.feed(&tail).is_empty());
        let head = encode_packet(0, 3, FLAG_HEAD, &[(key::TEXT_LOG, b"mine")]);
        assert!(a.feed(&head).is_empty());
        let other = encode_packet(0, 4, FLAG_TAIL, &[(key::TEXT_LOG, b"other")]);
        assert!(a.feed(&other).is_empty());
        assert_eq!(a.finish(), vec!["[lm] mine".to_string()]);
    }

    /// A chunk whose size runs past the payload continues at the start of the next
    /// packet's payload (Atmosphère `ParseTextLogWithContext` carry_size).
    #[test]
    fn text_chunk_running_past_its_packet_continues_in_the_next_one() {
        let mut first = encode_packet(0, 3, FLAG_HEAD, &[]);
        first.extend_from_slice(&[0x02, 0x08, b'a', b'b', b'c']);
        first[0x14] = 5;
        let mut second = encode_packet(0, 3, FLAG_TAIL, &[]);
        second.extend_from_slice(b"defgh");
        second.extend_from_slice(&[0x02, 0x01, b'!']);
        second[0x14] = 8;
        let mut a = LineAssembler::default();
        assert!(a.feed(&first).is_empty());
        assert_eq!(a.feed(&second), vec!["[lm] abcdefgh!".to_string()]);
    }

    /// Atmosphère's transmitter writes LogPacketDropCount and UserSystemClock under key 3
    /// (`lm_log_packet_transmitter.hpp`): an 8-byte key-3 chunk is skipped like any other.
    #[test]
    fn chunks_other_than_text_are_skipped_and_newlines_split_lines() {
        let bytes = encode_packet(
            0,
            1,
            FLAG_HEAD | FLAG_TAIL,
            &[(key::LINE_NUMBER, &5u64.to_le_bytes()), (key::TEXT_LOG, b"one\ntwo\n"), (key::THREAD_NAME, b"main")],
        );
        assert_eq!(LineAssembler::default().feed(&bytes), vec!["[lm] one".to_string(), "[lm] two".to_string()]);
    }
}
