//! `xcbuf-emu fuzz`: the robustness bar of design.md ("a hostile client never crashes or
//! stalls the server; session churn leaks no handles; no data crosses sessions") checked
//! against the real sysmodule through the host client ([`crate::host_client`]).
//!
//! - [`fuzz`]: random and mutated HIPC/CMIF messages on many sessions of both services.
//!   Each structured case carries its expected outcome, derived from the result table of
//!   `xcbuf_common::xcbuf` (server side) and horizon-ipc.md §3.3/§4 (what the kernel
//!   refuses: the client gets the kernel's error, the server keeps serving). Bit-flipped
//!   messages are only held to "a kernel error, a documented result, or a closed session".
//!   After every case the server must be running and answer a fresh Echo byte for byte.
//! - [`churn`]: opens and closes many sessions, connects past the maximum; the server's
//!   handle count and mappings end where they started.
//! - [`isolation`]: client A sends secrets; client B asks for outputs larger than what the
//!   server writes into canary-filled C buffers and never sees a byte of A's.
//!
//! Deterministic for a seed: [`SplitMix64`], and the bench itself is deterministic.

use std::fmt::Write as _;

use xcbuf_common::hipc::{PointerDescriptor, ReceiveListEntry};
use xcbuf_common::sf::{ReceiveMode, ServiceIdentity};
use xcbuf_common::xcbuf::{self, INDEXED, INDEXED_ENTRIES, MAX_SESSIONS, SINGLE};
use xcbuf_common::result::{ResultCode, kernel};

use crate::host_client::{
    Answer, DriveError, HIGH_BUFFERS, HostBench, HostClient, LOW_BUFFERS, MESSAGE_WORDS, READ_ONLY_PAGE,
};
use crate::kernel::KObjectRef;

/// splitmix64 (Steele, Lea, Flood 2014): small, fast, and good enough for test inputs.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The fill of C buffers before a request: bytes the server never writes unless asked.
pub const CANARY: u8 = 0xA5;
/// SFCI (horizon-ipc.md §6.2).
const SFCI: u32 = 0x4943_4653;
/// SFCO.
const SFCO: u32 = 0x4F43_4653;
/// The pseudo-handle of the current process (horizon-ipc.md §3.2 step 7).
const CURRENT_PROCESS: u32 = 0xFFFF_8001;
/// Where X payloads of the cases are written (client memory: one low, one high region).
const SRC_AREAS: [u64; 2] = [LOW_BUFFERS, HIGH_BUFFERS];
/// Where C buffers go: after the sources in each region.
const DST_OFFSET: u64 = 0x2_0000;

/// Where in each buffer region a case puts its X sources and C buffers. Two requests in
/// flight at once (the interleaved pair) must not share client memory: the server picks
/// which signalled session it serves first (ReplyAndReceive's handle order, not the
/// order of the SendSyncRequests), so a second reply into the same C range would
/// overwrite the first one's bytes after the fact and its check would blame the server.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Offset of the X sources in the region (at most ~0x7000 bytes are used).
    pub src: u64,
    /// Offset of the C buffers (at most two of up to 0x800 bytes).
    pub dst: u64,
}

impl Layout {
    /// The case checked byte for byte.
    pub const MAIN: Layout = Layout { src: 0, dst: DST_OFFSET };
    /// The other request of an interleaved pair: its own sources and C buffers, below
    /// the probe's area at 0x3_0000.
    pub const OTHER: Layout = Layout { src: 0x1_0000, dst: DST_OFFSET + 0x8000 };
}

/// A service of the sysmodule: its identity (`xcbuf_common::xcbuf`'s [`SINGLE`] and
/// [`INDEXED`]: name, pointer buffer, receive mode, session limit).
pub type Service = &'static ServiceIdentity;

/// Both services, in the order the sysmodule starts them.
pub const ALL_SERVICES: [Service; 2] = [&SINGLE, &INDEXED];

/// What a case must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The kernel refuses the request: SendSyncRequest returns this.
    Kernel(ResultCode),
    /// A reply with this failure result (and no X descriptors).
    Failure(ResultCode),
    /// The server closes the session: SendSyncRequest returns SessionClosed.
    Closed,
    /// Success; `outputs[k]` = the bytes C\[k\] must receive (then canary); `data` the
    /// out-data prefix.
    Success { outputs: Vec<Vec<u8>>, data: Vec<u8> },
    /// One of these (a case where the table does not decide alone).
    OneOf(Vec<Expect>),
    /// A mutated message: a kernel error, a documented result or a closed session.
    Documented,
}

/// One request: the message, its C buffers (address, real size) and what it must give.
#[derive(Debug, Clone)]
pub struct Case {
    pub what: String,
    pub words: Vec<u32>,
    pub outputs: Vec<(u64, usize)>,
    /// X payloads to write into the client's memory first.
    pub payloads: Vec<(u64, Vec<u8>)>,
    pub expect: Expect,
}

/// An X input of a case.
#[derive(Debug, Clone)]
struct Input {
    index: u8,
    address: u64,
    data: Vec<u8>,
}

/// Parameters of a structured request.
#[derive(Debug, Clone)]
struct Shape {
    hipc_type: u32,
    pid: bool,
    copy_handles: Vec<u32>,
    move_handles: usize,
    inputs: Vec<Input>,
    /// Zero-size B descriptors.
    b_count: u32,
    magic: u32,
    version: u32,
    command: u32,
    args: Vec<u8>,
    /// The u16 size table.
    sizes: Vec<u16>,
    /// C entries the client arms (address, size); mode 2+n (libnx) or 0 when empty.
    c_entries: Vec<(u64, usize)>,
    /// Raw words to drop from the end (truncated raw data).
    truncate: usize,
}

/// The documented server results (protocol.rs table).
fn documented_failures() -> [ResultCode; 9] {
    [
        xcbuf::INVALID_REQUEST_SIZE,
        xcbuf::UNKNOWN_COMMAND_TYPE,
        xcbuf::INVALID_HEADER_SIZE,
        xcbuf::INVALID_IN_HEADER,
        xcbuf::UNKNOWN_COMMAND_ID,
        xcbuf::INVALID_CMIF_REQUEST,
        xcbuf::X_OUTSIDE_POINTER_BUFFER,
        xcbuf::BAD_SPLIT_POINT,
        xcbuf::POINTER_BUFFER_TOO_SMALL,
    ]
}

const fn align16(x: usize) -> usize {
    (x + 15) & !15
}

/// Encodes a shape as libnx lays a request out (horizon-ipc.md §1, §6.3). Err when a
/// descriptor cannot be encoded.
fn encode(shape: &Shape) -> Result<Vec<u32>, String> {
    let special = shape.pid || !shape.copy_handles.is_empty() || shape.move_handles > 0;
    let mut w = vec![0u32; 2];
    if special {
        w.push(u32::from(shape.pid) | ((shape.copy_handles.len() as u32) << 1) | ((shape.move_handles as u32) << 5));
        if shape.pid {
            w.extend([0, 0]);
        }
        w.extend(&shape.copy_handles);
        w.extend(std::iter::repeat_n(CURRENT_PROCESS, shape.move_handles));
    }
    for x in &shape.inputs {
        let d = PointerDescriptor::new(x.index, x.address, x.data.len() as u64).map_err(|e| format!("{e:?}"))?;
        w.extend(d.encode());
    }
    for _ in 0..shape.b_count {
        w.extend([0, 0, 0]);
    }
    let raw_idx = w.len();
    // 16 bytes of padding budget, the 16-byte header, the arguments (rounded to 2),
    // then the size table (§6.3).
    let size = (16 + 16 + shape.args.len() + 1) & !1;
    let raw_bytes = size + 2 * shape.sizes.len();
    let raw_words = raw_bytes.div_ceil(4);
    let mut raw = vec![0u8; raw_words * 4];
    let pad = align16(raw_idx * 4) - raw_idx * 4;
    for (i, v) in [shape.magic, shape.version, shape.command, 0].iter().enumerate() {
        raw[pad + 4 * i..pad + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    raw[pad + 16..pad + 16 + shape.args.len()].copy_from_slice(&shape.args);
    for (i, s) in shape.sizes.iter().enumerate() {
        raw[size + 2 * i..size + 2 * i + 2].copy_from_slice(&s.to_le_bytes());
    }
    let kept = raw_words.saturating_sub(shape.truncate);
    raw.truncate(kept * 4);
    w.extend(raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    let mode = if shape.c_entries.is_empty() { 0 } else { 2 + shape.c_entries.len() as u32 };
    for &(a, s) in &shape.c_entries {
        let e = ReceiveListEntry::new(a, s as u64).map_err(|e| format!("{e:?}"))?;
        w.extend(e.encode());
    }
    w[0] = shape.hipc_type | ((shape.inputs.len() as u32) << 16) | (shape.b_count << 24);
    w[1] = kept as u32 | (mode << 10) | (u32::from(special) << 31);
    if w.len() > MESSAGE_WORDS {
        return Err(format!("message of {} words", w.len()));
    }
    Ok(w)
}

/// Where the kernel puts the X payloads in the server's pointer buffer (horizon-ipc.md
/// §3.3): offsets, or the kernel's error. `None` entries are zero-size X.
fn kernel_placement(service: Service, inputs: &[Input]) -> Result<Vec<Option<usize>>, ResultCode> {
    let mut out = Vec::new();
    let mut key = 0usize;
    for x in inputs {
        let size = x.data.len();
        if size == 0 {
            out.push(None);
            continue;
        }
        match service.receive_mode {
            ReceiveMode::Single => {
                let buf = align16(key);
                if buf + size > service.pointer_buffer_size {
                    return Err(kernel::OUT_OF_RESOURCE);
                }
                key = buf + size;
                out.push(Some(buf));
            }
            ReceiveMode::Indexed(entries) => {
                let e = entries.get(usize::from(x.index)).ok_or(kernel::OUT_OF_RESOURCE)?;
                if e.size < size {
                    return Err(kernel::OUT_OF_RESOURCE);
                }
                out.push(Some(e.offset));
            }
        }
    }
    Ok(out)
}

/// The expected outcome of a shape (protocol.rs result table, horizon-ipc.md §3-§4).
fn predict(service: Service, s: &Shape, raw_words_full: usize) -> Expect {
    // Kernel, receive side (§3.2): move handles, copy handles, X placement.
    if s.move_handles > 0 {
        return Expect::Kernel(kernel::INVALID_COMBINATION);
    }
    if s.copy_handles.iter().any(|&h| h != CURRENT_PROCESS && h != 0 && (h >> 15) == 0) {
        return Expect::Kernel(kernel::INVALID_HANDLE);
    }
    let placement = match kernel_placement(service, &s.inputs) {
        Ok(p) => p,
        Err(e) => return Expect::Kernel(e),
    };
    // Server (protocol.rs table, in order).
    if s.hipc_type == 2 {
        return Expect::Closed;
    }
    if ![4, 5, 6, 7].contains(&s.hipc_type) {
        return Expect::Failure(xcbuf::UNKNOWN_COMMAND_TYPE);
    }
    let raw_words = raw_words_full.saturating_sub(s.truncate);
    if raw_words * 4 < 0x10 {
        return Expect::Failure(xcbuf::INVALID_REQUEST_SIZE);
    }
    if raw_words * 4 - 0x10 < 16 {
        return Expect::Failure(xcbuf::INVALID_HEADER_SIZE);
    }
    if s.magic != SFCI || s.version > 1 {
        return Expect::Failure(xcbuf::INVALID_IN_HEADER);
    }
    let control = s.hipc_type == 5 || s.hipc_type == 7;
    let command = if control {
        if s.command != xcbuf::CONTROL_QUERY_POINTER_BUFFER_SIZE {
            return Expect::Failure(xcbuf::UNKNOWN_COMMAND_ID);
        }
        None
    } else {
        match xcbuf::Command::from_id(s.command) {
            Some(c) => Some(c),
            None => return Expect::Failure(xcbuf::UNKNOWN_COMMAND_ID),
        }
    };
    let x = s.inputs.len();
    let (x_ok, args, entries) = match command {
        None => (x == 0, 0, 0),
        Some(c) => match xcbuf::COMMANDS.iter().find(|row| row.id == c.id()) {
            Some(row) => (x >= row.in_x.0 && x <= row.in_x.1, row.in_raw, row.out_c),
            None => return Expect::Failure(xcbuf::UNKNOWN_COMMAND_ID),
        },
    };
    if s.b_count > 0 || s.pid || !s.copy_handles.is_empty() || !x_ok {
        return Expect::Failure(xcbuf::INVALID_CMIF_REQUEST);
    }
    // Arguments after the header, and the size table at 32 + align2(args) bytes from the
    // raw start (§6.3); where the two readings of "fits" disagree the table does not
    // decide alone.
    let raw_bytes = raw_words * 4;
    let table_end = ((32 + args + 1) & !1) + 2 * entries;
    if table_end > raw_bytes {
        return Expect::Failure(xcbuf::INVALID_CMIF_REQUEST);
    }
    if table_end + 4 > raw_words_full * 4 && s.truncate > 0 {
        // Truncated to just around the table: accept the table's failure or success.
        return Expect::Documented;
    }
    let pbs = service.pointer_buffer_size;
    let regions: Vec<(usize, usize)> = s
        .inputs
        .iter()
        .zip(&placement)
        .map(|(i, p)| (p.unwrap_or(0), if p.is_some() { i.data.len() } else { 0 }))
        .collect();
    // The bytes in each region after all copies (a later X of the same index overwrites).
    let mut buffer = vec![0u8; pbs];
    for (i, p) in s.inputs.iter().zip(&placement) {
        if let Some(off) = p {
            buffer[*off..*off + i.data.len()].copy_from_slice(&i.data);
        }
    }
    let content = |k: usize| -> Vec<u8> {
        let (o, l) = regions[k];
        buffer[o..o + l].to_vec()
    };
    let input_end = regions.iter().filter(|r| r.1 > 0).map(|r| r.0 + r.1).max().unwrap_or(0);
    let mut head = pbs;
    let mut carve = |size: u16| -> Result<usize, ResultCode> {
        if size == 0 {
            return Ok(0);
        }
        let h = head.checked_sub(usize::from(size)).ok_or(xcbuf::POINTER_BUFFER_TOO_SMALL)? & !15;
        if h < input_end {
            return Err(xcbuf::POINTER_BUFFER_TOO_SMALL);
        }
        head = h;
        Ok(usize::from(size))
    };
    let u32le = |v: u32| v.to_le_bytes().to_vec();
    let (outputs, data): (Vec<Vec<u8>>, Vec<u8>) = match command {
        None => (vec![], (pbs as u16).to_le_bytes().to_vec()),
        Some(xcbuf::Command::GetInfo) => {
            let mut d = u32le(xcbuf::PROTOCOL_VERSION);
            d.extend(u32le(pbs as u32));
            d.extend(u32le(service.receive_mode_raw()));
            d.extend(u32le(MAX_SESSIONS as u32));
            (vec![], d)
        }
        Some(xcbuf::Command::Stats) => (vec![], vec![]),
        Some(xcbuf::Command::Echo) => {
            let c = content(0);
            let n = c.len().min(usize::from(s.sizes[0]));
            (vec![c[..n].to_vec()], u32le(n as u32))
        }
        Some(xcbuf::Command::Concat) => {
            let cap = match carve(s.sizes[0]) {
                Ok(c) => c,
                Err(e) => return Expect::Failure(e),
            };
            let all: Vec<u8> = (0..x).flat_map(content).collect();
            let n = all.len().min(cap);
            (vec![all[..n].to_vec()], u32le(n as u32))
        }
        Some(xcbuf::Command::Split) => {
            let at = u32::from_le_bytes([s.args[0], s.args[1], s.args[2], s.args[3]]) as usize;
            let c = content(0);
            if at > c.len() {
                return Expect::Failure(xcbuf::BAD_SPLIT_POINT);
            }
            let (h, t) = match (carve(s.sizes[0]), carve(s.sizes[1])) {
                (Ok(h), Ok(t)) => (h, t),
                (Err(e), _) | (_, Err(e)) => return Expect::Failure(e),
            };
            let head_bytes = c[..at.min(h)].to_vec();
            let tail_bytes = c[at..at + (c.len() - at).min(t)].to_vec();
            let mut d = u32le(head_bytes.len() as u32);
            d.extend(u32le(tail_bytes.len() as u32));
            (vec![head_bytes, tail_bytes], d)
        }
    };
    // Kernel, reply side (§4): each non-empty reply X needs C[index] with room. Split
    // writes index 1 first; the order does not change which fails.
    for (k, o) in outputs.iter().enumerate() {
        if o.is_empty() {
            continue;
        }
        match s.c_entries.get(k) {
            Some(&(_, size)) if size >= o.len() && size > 0 => {}
            _ => return Expect::Kernel(kernel::OUT_OF_RESOURCE),
        }
    }
    Expect::Success { outputs, data }
}

/// Sizes for X payloads: small, around 16-byte boundaries, at and past the entries.
fn x_size(rng: &mut SplitMix64, service: Service) -> usize {
    match rng.below(10) {
        0 => 0,
        1 => service.pointer_buffer_size,
        2 => service.pointer_buffer_size + 1,
        3 => INDEXED_ENTRIES[rng.below(3) as usize].size + rng.below(2) as usize,
        4 => rng.below(0x900) as usize,
        5 => 16 * (1 + rng.below(8) as usize),
        _ => 1 + rng.below(64) as usize,
    }
}

/// Builds a random structured case for `service`, using `session_handles` of the client
/// for copy handles.
pub fn structured_case(rng: &mut SplitMix64, service: Service, session_handles: &[u32], layout: Layout) -> Case {
    let mut what = Vec::new();
    let command = match rng.below(12) {
        0 => 0,
        1 | 2 | 3 => 1,
        4 | 5 | 6 => 2,
        7 | 8 | 9 => 3,
        10 => 4,
        _ => 5 + rng.below(100) as u32,
    };
    let mut s = Shape {
        hipc_type: 4,
        pid: false,
        copy_handles: vec![],
        move_handles: 0,
        inputs: vec![],
        b_count: 0,
        magic: SFCI,
        version: rng.below(2) as u32,
        command,
        args: vec![],
        sizes: vec![],
        c_entries: vec![],
        truncate: 0,
    };
    let n_inputs = match command {
        1 | 3 => 1,
        2 => 1 + rng.below(8) as usize,
        _ => 0,
    };
    let area = SRC_AREAS[rng.below(2) as usize] + layout.src;
    let mut next = area;
    for i in 0..n_inputs {
        let size = if rng.chance(70) { 1 + rng.below(0x100) as usize } else { x_size(rng, service) };
        let data = rng.bytes(size);
        s.inputs.push(Input { index: i as u8, address: next, data });
        next += align16(size.max(1)) as u64 + 16 * rng.below(3);
    }
    let n_out = match command {
        1 | 2 => 1,
        3 => 2,
        _ => 0,
    };
    if command == 3 {
        let len = s.inputs[0].data.len() as u32;
        let at = if rng.chance(85) { rng.below(u64::from(len) + 1) as u32 } else { len + 1 + rng.below(4) as u32 };
        s.args = at.to_le_bytes().to_vec();
    }
    let dst_area = SRC_AREAS[rng.below(2) as usize] + layout.dst;
    let mut dst = dst_area;
    for _ in 0..n_out {
        let size = match rng.below(6) {
            0 => 0,
            1 => 0x800,
            _ => 1 + rng.below(0x300) as usize,
        };
        s.c_entries.push((dst, size));
        s.sizes.push(size as u16);
        dst += align16(size.max(1)) as u64 + 16;
    }
    // Mutations.
    match rng.below(16) {
        0 => {
            s.magic = rng.next_u64() as u32;
            what.push("bad magic");
        }
        1 => {
            s.version = 2 + rng.below(10) as u32;
            what.push("bad version");
        }
        2 => {
            s.hipc_type = [0, 1, 3, 8, 9, 10, 11, 12, 13, 14, 15][rng.below(11) as usize];
            what.push("unknown type");
        }
        3 => {
            s.hipc_type = 2;
            what.push("close");
        }
        4 => {
            s.hipc_type = if rng.chance(50) { 5 } else { 7 };
            s.command = if rng.chance(50) { xcbuf::CONTROL_QUERY_POINTER_BUFFER_SIZE } else { rng.below(8) as u32 };
            if rng.chance(70) {
                s.inputs.clear();
                s.sizes.clear();
                s.c_entries.clear();
                s.args.clear();
            }
            what.push("control");
        }
        5 => {
            s.truncate = 1 + rng.below(10) as usize;
            what.push("truncated raw");
        }
        6 => {
            s.pid = true;
            what.push("pid");
        }
        7 => {
            let h = match rng.below(3) {
                0 => CURRENT_PROCESS,
                1 => session_handles.first().copied().unwrap_or(CURRENT_PROCESS),
                _ => 0x7FFF_u32 & rng.next_u64() as u32, // invalid: linear id 0
            };
            s.copy_handles = vec![h; 1 + rng.below(2) as usize];
            what.push("copy handles");
        }
        8 => {
            s.move_handles = 1;
            what.push("move handle");
        }
        9 => {
            // Size table that lies: the server is told more room than C has.
            for (k, size) in s.sizes.iter_mut().enumerate() {
                let lie = (rng.below(0x900) as u16).max(1);
                *size = lie;
                if rng.chance(30) {
                    s.c_entries[k].1 = rng.below(32) as usize;
                }
            }
            what.push("lying size table");
        }
        10 => {
            let extra = 1 + rng.below(4) as usize;
            for _ in 0..extra {
                let size = x_size(rng, service);
                let idx = s.inputs.len() as u8;
                s.inputs.push(Input { index: idx, address: next, data: rng.bytes(size) });
                next += align16(size.max(1)) as u64;
            }
            what.push("extra X");
        }
        11 => {
            for x in &mut s.inputs {
                x.index = rng.below(5) as u8;
            }
            what.push("random X indices");
        }
        12 => {
            s.b_count = 1;
            what.push("zero-size B");
        }
        13 => {
            s.c_entries.truncate(rng.below(s.c_entries.len() as u64 + 1) as usize);
            what.push("fewer C entries");
        }
        _ => {}
    }
    let raw_full = {
        let mut full = s.clone();
        full.truncate = 0;
        encode(&full).map(|w| (w[1] & 0x3ff) as usize)
    };
    let words = encode(&s);
    let (words, expect) = match (words, raw_full) {
        (Ok(w), Ok(r)) => {
            let e = predict(service, &s, r);
            (w, e)
        }
        (Err(e), _) | (_, Err(e)) => {
            return Case { what: format!("unencodable ({e})"), words: vec![], outputs: vec![], payloads: vec![], expect: Expect::Documented };
        }
    };
    let name = match s.hipc_type {
        4 | 6 => xcbuf::Command::from_id(s.command).map_or("unknown command".into(), |c| format!("{c:?}")),
        5 | 7 => "control".into(),
        t => format!("type {t}"),
    };
    Case {
        what: format!("{} {name} [{}]", service.name, what.join(", ")),
        outputs: s.c_entries.clone(),
        payloads: s.inputs.iter().map(|x| (x.address, x.data.clone())).collect(),
        words,
        expect,
    }
}

/// Flips random bits of a case's message (and sometimes replaces words).
pub fn mutate(rng: &mut SplitMix64, case: &mut Case) {
    let n = case.words.len().max(2);
    case.words.resize(n, 0);
    for _ in 0..1 + rng.below(4) {
        let i = rng.below(n as u64) as usize;
        if rng.chance(70) {
            case.words[i] ^= 1 << rng.below(32);
        } else {
            case.words[i] = rng.next_u64() as u32;
        }
    }
    case.what.push_str(" +bit flips");
    case.expect = Expect::Documented;
}

/// Checks an answer against the expectation; Err(why) when it does not match.
pub fn check(case: &Case, answer: &Answer, client: &HostClient, bench: &HostBench) -> Result<(), String> {
    check_expect(&case.expect, case, answer, client, bench)
}

fn reply_result(words: &[u32]) -> Option<(ResultCode, usize, usize)> {
    // Reply: header, no special data expected, X count, raw at the 16-byte boundary.
    let x = ((words[0] >> 16) & 0xf) as usize;
    let special = words[1] >> 31 != 0;
    let mut idx = 2;
    if special {
        let sh = words[2];
        idx = 3 + 2 * (sh & 1) as usize + ((sh >> 1) & 0xf) as usize + ((sh >> 5) & 0xf) as usize;
    }
    let raw_idx = idx + 2 * x;
    let sfco = align16(raw_idx * 4) / 4;
    let magic = *words.get(sfco)?;
    if magic != SFCO {
        return None;
    }
    Some((ResultCode::from_raw(*words.get(sfco + 2)?), x, sfco + 4))
}

fn check_expect(expect: &Expect, case: &Case, answer: &Answer, client: &HostClient, bench: &HostBench) -> Result<(), String> {
    let got = answer.svc_result;
    match expect {
        Expect::Kernel(r) if got == *r => Ok(()),
        Expect::Kernel(r) => Err(format!("expected kernel {r}, got svc {got}{}", describe_reply(answer))),
        Expect::Closed if got == kernel::SESSION_CLOSED => Ok(()),
        Expect::Closed => Err(format!("expected the session closed, got svc {got}{}", describe_reply(answer))),
        Expect::Failure(r) => match (got.is_success(), reply_result(&answer.words)) {
            (true, Some((rc, x, _))) if rc == *r && x == 0 => Ok(()),
            _ => Err(format!("expected reply {r}, got svc {got}{}", describe_reply(answer))),
        },
        Expect::Success { outputs, data } => {
            let Some((rc, _, data_at)) = reply_result(&answer.words).filter(|_| got.is_success()) else {
                return Err(format!("expected success, got svc {got}{}", describe_reply(answer)));
            };
            if rc.is_failure() {
                return Err(format!("expected success, got reply {rc}"));
            }
            let got_data: Vec<u8> = answer.words[data_at..].iter().flat_map(|w| w.to_le_bytes()).take(data.len()).collect();
            if got_data != *data {
                return Err(format!("out-data {got_data:02x?}, expected {data:02x?}"));
            }
            for (k, want) in outputs.iter().enumerate() {
                let Some(&(addr, size)) = case.outputs.get(k) else { continue };
                let bytes = client.read(bench, addr, size).map_err(|e| e.to_string())?;
                if bytes.get(..want.len()) != Some(&want[..]) {
                    let n = want.len().min(16);
                    return Err(format!(
                        "C[{k}] received other bytes than expected ({} expected; starts {:02x?}, expected {:02x?})",
                        want.len(),
                        &bytes[..n.min(bytes.len())],
                        &want[..n]
                    ));
                }
                if let Some(i) = bytes[want.len()..].iter().position(|&b| b != CANARY) {
                    return Err(format!("C[{k}] byte {} past the {} written was overwritten", want.len() + i, want.len()));
                }
            }
            Ok(())
        }
        Expect::OneOf(list) => {
            let mut why = Vec::new();
            for e in list {
                match check_expect(e, case, answer, client, bench) {
                    Ok(()) => return Ok(()),
                    Err(w) => why.push(w),
                }
            }
            Err(why.join(" / "))
        }
        Expect::Documented => {
            if got.is_failure() {
                return if got.module() == kernel::MODULE {
                    Ok(())
                } else {
                    Err(format!("svc returned a non-kernel result {got}"))
                };
            }
            match reply_result(&answer.words) {
                Some((rc, _, _)) if rc.is_success() || documented_failures().contains(&rc) => Ok(()),
                Some((rc, _, _)) => Err(format!("undocumented reply result {rc}")),
                None => Err(format!("reply without SFCO{}", describe_reply(answer))),
            }
        }
    }
}

fn describe_reply(answer: &Answer) -> String {
    match reply_result(&answer.words) {
        Some((rc, x, _)) if answer.svc_result.is_success() => format!(" (reply {rc}, {x} X)"),
        _ => String::new(),
    }
}

/// Hex words of a message, for reproducing a case.
pub fn hex_words(words: &[u32]) -> String {
    let mut s = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{w:08x}");
    }
    s
}

/// Fills every C buffer of a case with [`CANARY`] and writes its X payloads.
fn prepare(client: &HostClient, bench: &mut HostBench, case: &Case) -> Result<(), String> {
    for &(addr, size) in &case.outputs {
        if size > 0 && addr != READ_ONLY_PAGE {
            client.write(bench, addr, &vec![CANARY; size])?;
        }
    }
    for (addr, data) in &case.payloads {
        client.write(bench, *addr, data)?;
    }
    Ok(())
}

/// A fresh Echo of random bytes on `session`, checked byte for byte (and the canary
/// after it). Err(why) on any difference.
pub fn probe_echo(rng: &mut SplitMix64, client: &mut HostClient, bench: &mut HostBench, session: u32) -> Result<(), ProbeError> {
    let len = 1 + rng.below(0x100) as usize;
    let data = rng.bytes(len);
    let src = HIGH_BUFFERS + 0x3_0000;
    let dst = LOW_BUFFERS + 0x3_0000;
    client.write(bench, src, &data).map_err(ProbeError::Unexpected)?;
    client.write(bench, dst, &vec![CANARY; len + 16]).map_err(ProbeError::Unexpected)?;
    let mut msg = [0u32; MESSAGE_WORDS];
    xcbuf_common::client::build_echo(
        &mut msg,
        xcbuf_common::client::Buffer::new(src, len),
        xcbuf_common::client::Buffer::new(dst, len + 16),
    )
    .map_err(|e| ProbeError::Unexpected(e.to_string()))?;
    let answer = client.send(bench, session, &msg).map_err(ProbeError::Drive)?;
    if answer.svc_result.is_failure() {
        return Err(ProbeError::Unexpected(format!("probe Echo: svc {}", answer.svc_result)));
    }
    let reply = xcbuf_common::client::parse_reply(&answer.words).map_err(|e| ProbeError::Unexpected(format!("probe Echo: {e}")))?;
    if reply.received(0) != Some(len as u16) {
        return Err(ProbeError::Unexpected(format!("probe Echo: received {:?} of {len}", reply.received(0))));
    }
    let got = client.read(bench, dst, len + 16).map_err(ProbeError::Unexpected)?;
    if got[..len] != data[..] || got[len..].iter().any(|&b| b != CANARY) {
        return Err(ProbeError::Unexpected("probe Echo: wrong bytes".into()));
    }
    Ok(())
}

/// Why a probe failed.
#[derive(Debug, Clone)]
pub enum ProbeError {
    Drive(DriveError),
    Unexpected(String),
}

/// Totals of a fuzz run.
#[derive(Debug, Clone, Default)]
pub struct FuzzReport {
    pub iterations: u64,
    pub faults: u64,
    pub hangs: u64,
    pub unexpected: u64,
    /// The first failing cases, reproducible: description, seed, iteration, hex words.
    pub failures: Vec<String>,
    /// Server handles at the start and end (sessions closed), and mappings.
    pub handles_start: usize,
    pub handles_end: usize,
    pub mapped_start: u64,
    pub mapped_end: u64,
    /// Requests whose session handle was closed while they were pending (then served),
    /// and those whose requesting thread was also terminated (the client gone).
    pub closed_mid_request: u64,
    pub client_gone_mid_request: u64,
}

impl FuzzReport {
    pub fn ok(&self) -> bool {
        self.faults == 0 && self.hangs == 0 && self.unexpected == 0 && self.handles_start == self.handles_end
    }
    pub fn summary(&self) -> String {
        format!(
            "iterations: {}, server faults: {}, hangs: {}, unexpected results: {}",
            self.iterations, self.faults, self.hangs, self.unexpected
        )
    }
}

/// Sessions of the fuzzer: per service, a few open handles.
struct Pool {
    sessions: Vec<(Service, u32)>,
}

const MAX_FAILURES_KEPT: usize = 20;

/// Runs `iterations` cases with `seed` against the bench's sysmodule. Stops early after a
/// fault (the server is gone).
pub fn fuzz(bench: &mut HostBench, iterations: u64, seed: u64) -> Result<FuzzReport, String> {
    let mut rng = SplitMix64::new(seed);
    let mut client = HostClient::new(bench, "fuzz-client")?;
    let start = bench.server_resources();
    let mut report = FuzzReport { handles_start: start.handles, mapped_start: start.mapped, ..FuzzReport::default() };
    let mut pool = Pool { sessions: Vec::new() };
    for service in ALL_SERVICES {
        for _ in 0..3 {
            let h = client.connect(bench, service.name).map_err(|e| format!("connect {}: {e}", service.name))?;
            pool.sessions.push((service, h));
        }
    }
    let fail = |report: &mut FuzzReport, kind: &str, i: u64, case: &Case, why: &str| {
        if report.failures.len() < MAX_FAILURES_KEPT {
            report.failures.push(format!(
                "{kind} at iteration {i} (seed {seed}): {}: {why}\n  message: {}",
                case.what,
                hex_words(&case.words)
            ));
        }
    };
    for i in 0..iterations {
        report.iterations = i + 1;
        // Session churn inside the run: sometimes replace a session.
        if rng.chance(3) && !pool.sessions.is_empty() {
            let k = rng.below(pool.sessions.len() as u64) as usize;
            let (service, h) = pool.sessions.swap_remove(k);
            let _ = client.close(bench, h);
            match client.connect(bench, service.name) {
                Ok(h) => pool.sessions.push((service, h)),
                Err(e) => return Err(format!("reconnect {}: {e}", service.name)),
            }
        }
        let k = rng.below(pool.sessions.len() as u64) as usize;
        let (service, handle) = pool.sessions[k];
        // A copy handle names the session the case goes on: the other session of an
        // interleaved pair may be closed before this request is sent, and then the kernel
        // rightly refuses the stale handle with InvalidHandle (horizon-ipc.md §3.2 step 7)
        // before the server's InvalidCmifRequest could be seen.
        let mut case = structured_case(&mut rng, service, &[handle], Layout::MAIN);
        if case.words.is_empty() {
            continue;
        }
        if rng.chance(10) {
            mutate(&mut rng, &mut case);
        }
        if let Err(e) = prepare(&client, bench, &case) {
            return Err(format!("prepare: {e}"));
        }
        let before_handles = bench.server_resources().handles;
        if std::env::var_os("XCBUF_FUZZ_TRACE").is_some() {
            eprintln!("#{i} handles {before_handles} {} on {handle:#x}: {}", case.what, hex_words(&case.words));
        }
        let interleave = rng.chance(10) && pool.sessions.len() > 1;
        if interleave && std::env::var_os("XCBUF_FUZZ_TRACE").is_some() {
            eprintln!("    (interleaved after a request on another session)");
        }
        let outcome = if interleave {
            // A second request queued on another session first, then this one; both are
            // answered; sometimes the other session is closed mid-request, and every
            // second such time its requesting thread is terminated too.
            let other = (k + 1) % pool.sessions.len();
            let (oservice, ohandle) = pool.sessions[other];
            let mut ocase = structured_case(&mut rng, oservice, &[], Layout::OTHER);
            let close_mid = rng.chance(40) && std::env::var_os("XCBUF_FUZZ_NO_MIDCLOSE").is_none();
            let terminate_mid = close_mid && i % 2 == 0;
            let other_session = match bench.kernel.processes[client.process].handles.get(ohandle) {
                Some(KObjectRef::ClientSession(s)) => Some(s),
                _ => None,
            };
            let pending_other = if ocase.words.is_empty() {
                None
            } else {
                ocase.expect = Expect::Documented;
                if let Err(e) = prepare(&client, bench, &ocase) {
                    return Err(format!("prepare: {e}"));
                }
                client.begin(bench, ohandle, &ocase.words).ok()
            };
            if close_mid {
                let _ = client.close_now(bench, ohandle);
            }
            // The client is gone: the request is never answered, and the server sees
            // SessionClosed on receive or on its reply (mesosphere OnClientClosed,
            // SendReply).
            let pending_other = match pending_other {
                Some(p) if terminate_mid => {
                    client.terminate_request(bench, p)?;
                    report.client_gone_mid_request += 1;
                    None
                }
                Some(p) if close_mid => {
                    report.closed_mid_request += 1;
                    Some(p)
                }
                other => other,
            };
            let r = client.begin(bench, handle, &case.words);
            let mine = match r {
                Ok(p) => client.finish(bench, p),
                Err(e) => Ok(Answer { svc_result: e, words: [0; MESSAGE_WORDS] }),
            };
            if let Some(p) = pending_other {
                match client.finish(bench, p) {
                    // A close under a pending request takes effect once the request
                    // ends (the waiting thread holds the session, mesosphere
                    // SendSyncRequestImpl): it is served as any other.
                    Ok(a) if close_mid => {
                        if let Err(why) = check(&ocase, &a, &client, bench) {
                            fail(&mut report, "unexpected", i, &ocase, &format!("closed mid-request: {why}"));
                            report.unexpected += 1;
                        }
                    }
                    // Its own Close message (or a refused message) may have ended it.
                    Ok(a) if a.svc_result == kernel::SESSION_CLOSED => {
                        let _ = client.close(bench, ohandle);
                        if let Ok(h) = client.connect(bench, oservice.name) {
                            pool.sessions[other] = (oservice, h);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        classify(&mut report, &e);
                        fail(&mut report, "drive", i, &ocase, &e.to_string());
                    }
                }
            }
            if close_mid {
                let _ = bench.settle();
                // Either way the server ends up closing its side: the session is gone.
                if let Some(s) = other_session.filter(|&s| !bench.kernel.sessions[s].finalized()) {
                    let what = if terminate_mid { "client thread terminated" } else { "closed mid-request" };
                    fail(&mut report, "unexpected", i, &ocase, &format!("{what}: the server kept session #{s}"));
                    report.unexpected += 1;
                }
                let _ = client.connect(bench, oservice.name).map(|h| pool.sessions[other] = (oservice, h));
            }
            mine
        } else {
            client.send(bench, handle, &case.words)
        };
        match outcome {
            Err(e) => {
                classify(&mut report, &e);
                fail(&mut report, if matches!(e, DriveError::Fault(_)) { "fault" } else { "hang" }, i, &case, &e.to_string());
                if matches!(e, DriveError::Fault(_)) {
                    break;
                }
                // Abandon the session the hung request sits on.
                let _ = client.close_now(bench, handle);
                let _ = bench.settle();
                if let Ok(h) = client.connect(bench, service.name) {
                    pool.sessions[k] = (service, h);
                }
                continue;
            }
            Ok(answer) => {
                if let Err(why) = check(&case, &answer, &client, bench) {
                    report.unexpected += 1;
                    fail(&mut report, "unexpected", i, &case, &why);
                }
                if answer.svc_result == kernel::SESSION_CLOSED {
                    let _ = client.close(bench, handle);
                    match client.connect(bench, service.name) {
                        Ok(h) => pool.sessions[k] = (service, h),
                        Err(e) => return Err(format!("reconnect {}: {e}", service.name)),
                    }
                }
            }
        }
        // Stray handles are closed: the server's table is back where it was (unless a
        // session was replaced, which keeps the count).
        let _ = bench.settle();
        let after_handles = bench.server_resources().handles;
        if after_handles > before_handles && !interleave {
            report.unexpected += 1;
            fail(&mut report, "leak", i, &case, &format!("server handles {before_handles} -> {after_handles}"));
        }
        if std::env::var_os("XCBUF_FUZZ_TRACE").is_some() {
            let out = &bench.kernel.processes[bench.server].output;
            for line in out.iter().skip(out.len().saturating_sub(3)) {
                eprintln!("    server: {line}");
            }
        }
        // The server still answers a fresh Echo, on a session of each service.
        let probe = pool.sessions.iter().position(|s| s.0 == service).unwrap_or(0);
        let ph = pool.sessions[probe].1;
        match probe_echo(&mut rng, &mut client, bench, ph) {
            Ok(()) => {}
            Err(ProbeError::Drive(e)) => {
                classify(&mut report, &e);
                fail(&mut report, "probe", i, &case, &e.to_string());
                if matches!(e, DriveError::Fault(_)) {
                    break;
                }
            }
            Err(ProbeError::Unexpected(why)) => {
                report.unexpected += 1;
                fail(&mut report, "probe", i, &case, &why);
            }
        }
    }
    for (_, h) in pool.sessions.drain(..) {
        let _ = client.close(bench, h);
    }
    let _ = bench.settle();
    let end = bench.server_resources();
    report.handles_end = end.handles;
    report.mapped_end = end.mapped;
    Ok(report)
}

fn classify(report: &mut FuzzReport, e: &DriveError) {
    match e {
        DriveError::Fault(_) => report.faults += 1,
        DriveError::Hang(_) => report.hangs += 1,
    }
}


/// What [`churn`] saw.
#[derive(Debug, Clone, Default)]
pub struct ChurnReport {
    pub sessions_opened: u64,
    /// Connects past [`MAX_SESSIONS`] per service and what they gave.
    pub over_limit_refused: u64,
    pub over_limit_closed: u64,
    pub handles_start: usize,
    pub handles_end: usize,
    pub mapped_start: u64,
    pub mapped_end: u64,
    /// The server's heap in use (rt's allocator, read from its memory; None without the
    /// sysmodule's ELF).
    pub heap_used_start: Option<u64>,
    pub heap_used_end: Option<u64>,
    /// Stats' open-session count through a last session, at the end.
    pub open_sessions_end: Option<u32>,
    pub problems: Vec<String>,
}

impl ChurnReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
            && self.handles_start == self.handles_end
            && self.mapped_start == self.mapped_end
            && self.heap_used_start == self.heap_used_end
    }
}

/// Opens and closes `total` sessions (both services, each one probed with an Echo every
/// few), then fills each service to [`MAX_SESSIONS`] and connects a few more: those must
/// be refused (OutOfSessions on connect) or closed by the server (SessionClosed on the
/// first request), and the first [`MAX_SESSIONS`] keep working.
pub fn churn(bench: &mut HostBench, total: u64, seed: u64) -> Result<ChurnReport, String> {
    let mut rng = SplitMix64::new(seed);
    let mut client = HostClient::new(bench, "churn-client")?;
    bench.settle()?;
    let start = bench.server_resources();
    let mut r = ChurnReport {
        handles_start: start.handles,
        mapped_start: start.mapped,
        heap_used_start: start.heap_used,
        ..ChurnReport::default()
    };
    for i in 0..total {
        let service = ALL_SERVICES[(i % 2) as usize];
        let h = client.connect(bench, service.name).map_err(|e| format!("connect #{i} {}: {e}", service.name))?;
        r.sessions_opened += 1;
        if i % 97 == 0 {
            if let Err(e) = probe_echo(&mut rng, &mut client, bench, h) {
                r.problems.push(format!("session #{i}: {e:?}"));
            }
        }
        client.close(bench, h).map_err(|e| format!("close #{i}: {e}"))?;
    }
    for service in ALL_SERVICES {
        let mut open = Vec::new();
        for _ in 0..MAX_SESSIONS {
            open.push(client.connect(bench, service.name).map_err(|e| format!("fill {}: {e}", service.name))?);
        }
        let mut extra = Vec::new();
        for _ in 0..3 {
            match client.connect(bench, service.name) {
                Err(e) if e == kernel::OUT_OF_SESSIONS => r.over_limit_refused += 1,
                Err(e) => r.problems.push(format!("{} over the limit: connect gave {e}", service.name)),
                Ok(h) => {
                    let mut msg = [0u32; MESSAGE_WORDS];
                    let _ = xcbuf_common::client::build_get_info(&mut msg);
                    match client.send(bench, h, &msg) {
                        Ok(a) if a.svc_result == kernel::SESSION_CLOSED => r.over_limit_closed += 1,
                        Ok(a) => r.problems.push(format!("{} over the limit: served (svc {})", service.name, a.svc_result)),
                        Err(e) => r.problems.push(format!("{} over the limit: {e}", service.name)),
                    }
                    extra.push(h);
                }
            }
        }
        for &h in &open {
            if let Err(e) = probe_echo(&mut rng, &mut client, bench, h) {
                r.problems.push(format!("{} at the limit: {e:?}", service.name));
            }
        }
        if *service == SINGLE {
            if let Some(&h) = open.first() {
                r.open_sessions_end = stats_open_sessions(&mut client, bench, h);
            }
        }
        for h in open.into_iter().chain(extra) {
            let _ = client.close(bench, h);
        }
    }
    bench.settle()?;
    bench.server_alive().map_err(|e| e.to_string())?;
    let end = bench.server_resources();
    r.handles_end = end.handles;
    r.mapped_end = end.mapped;
    r.heap_used_end = end.heap_used;
    Ok(r)
}

/// Stats' `open_sessions` seen through `session`.
pub fn stats_open_sessions(client: &mut HostClient, bench: &mut HostBench, session: u32) -> Option<u32> {
    let mut msg = [0u32; MESSAGE_WORDS];
    xcbuf_common::client::build_stats(&mut msg).ok()?;
    let a = client.send(bench, session, &msg).ok()?;
    let reply = xcbuf_common::client::parse_reply(&a.words).ok()?;
    reply.read::<xcbuf::StatsResponse>().ok().map(|s| s.open_sessions)
}

/// What [`isolation`] saw.
#[derive(Debug, Clone, Default)]
pub struct IsolationReport {
    pub rounds: u64,
    /// Bytes of B's C buffers checked.
    pub bytes_checked: u64,
    pub problems: Vec<String>,
}

/// Client A sends secret bytes via X (Echo, Concat, Split); client B then asks for
/// outputs far larger than what the server writes, into C buffers pre-filled with the
/// canary. Every byte B's C buffers hold must be B's own input or the canary, and the
/// reply X sizes must be what the server wrote.
pub fn isolation(bench: &mut HostBench, rounds: u64, seed: u64) -> Result<IsolationReport, String> {
    let mut rng = SplitMix64::new(seed);
    let mut a = HostClient::new(bench, "client-a")?;
    let mut b = HostClient::new(bench, "client-b")?;
    let mut r = IsolationReport::default();
    use xcbuf_common::client::{self as c, Buffer};
    for round in 0..rounds {
        let service = ALL_SERVICES[(round % 2) as usize];
        let pbs = service.pointer_buffer_size;
        let sa = a.connect(bench, service.name).map_err(|e| format!("A connect: {e}"))?;
        let sb = b.connect(bench, service.name).map_err(|e| format!("B connect: {e}"))?;
        // A: fill as much of the pointer buffer as its X may with a secret pattern
        // (0x5E, never the canary or B's bytes).
        let secret = vec![0x5Eu8; 0x200];
        a.write(bench, HIGH_BUFFERS, &secret)?;
        let mut msg = [0u32; MESSAGE_WORDS];
        let inputs: Vec<Buffer> = (0..3).map(|k| Buffer::new(HIGH_BUFFERS, [0x200, 0x100, 0x40][k])).collect();
        c::build_concat(&mut msg, &inputs, Buffer::new(LOW_BUFFERS, 0x400)).map_err(|e| e.to_string())?;
        let _ = a.send(bench, sa, &msg).map_err(|e| e.to_string())?;
        c::build_echo(&mut msg, Buffer::new(HIGH_BUFFERS, 0x200), Buffer::new(LOW_BUFFERS, 0x200)).map_err(|e| e.to_string())?;
        let _ = a.send(bench, sa, &msg).map_err(|e| e.to_string())?;
        // B: small inputs (bytes 0x01..), huge outputs.
        let n = 1 + rng.below(16) as usize;
        let mine: Vec<u8> = (0..n).map(|i| 1 + (i % 0x50) as u8).collect();
        b.write(bench, HIGH_BUFFERS, &mine)?;
        let out0 = LOW_BUFFERS;
        let out1 = LOW_BUFFERS + 0x1000;
        let big = pbs - 0x40;
        for (addr, len) in [(out0, 0x1000usize), (out1, 0x1000)] {
            b.write(bench, addr, &vec![CANARY; len])?;
        }
        let which = round % 3;
        match which {
            0 => c::build_echo(&mut msg, Buffer::new(HIGH_BUFFERS, n), Buffer::new(out0, 0xFFFF)),
            1 => c::build_concat(&mut msg, &[Buffer::new(HIGH_BUFFERS, n)], Buffer::new(out0, big)),
            _ => c::build_split(&mut msg, Buffer::new(HIGH_BUFFERS, n), (n / 2) as u32, Buffer::new(out0, big / 2), Buffer::new(out1, big / 2)),
        }
        .map_err(|e| e.to_string())?;
        let answer = b.send(bench, sb, &msg).map_err(|e| e.to_string())?;
        let received = |k: u8| -> usize {
            c::parse_reply(&answer.words).ok().and_then(|rep| rep.received(k)).map_or(0, usize::from)
        };
        let (want0, want1): (Vec<u8>, Vec<u8>) = match which {
            0 | 1 => (mine.clone(), vec![]),
            _ => (mine[..n / 2].to_vec(), mine[n / 2..].to_vec()),
        };
        if answer.svc_result.is_failure() {
            r.problems.push(format!("round {round}: B's request failed with svc {}", answer.svc_result));
        }
        for (k, addr, want) in [(0u8, out0, &want0), (1, out1, &want1)] {
            let got = b.read(bench, addr, 0x1000)?;
            r.bytes_checked += got.len() as u64;
            if received(k) != want.len() && !(want.is_empty() && received(k) == 0) {
                r.problems.push(format!("round {round}: C[{k}] reply size {} != {} written", received(k), want.len()));
            }
            if got[..want.len()] != want[..] {
                r.problems.push(format!("round {round}: C[{k}] does not start with B's bytes"));
            }
            if let Some(i) = got[want.len()..].iter().position(|&x| x != CANARY) {
                let byte = got[want.len() + i];
                let whose = if byte == 0x5E { " (A's secret)" } else { "" };
                r.problems.push(format!("round {round}: C[{k}] byte {} = {byte:#x}{whose} past what was written", want.len() + i));
            }
        }
        a.close(bench, sa).map_err(|e| e.to_string())?;
        b.close(bench, sb).map_err(|e| e.to_string())?;
        r.rounds += 1;
    }
    Ok(r)
}

/// A seed from `random` (time and process id) or a number.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    if text == "random" {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        return Ok(SplitMix64::new(t ^ u64::from(std::process::id())).next_u64());
    }
    match text.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => text.parse(),
    }
    .map_err(|e| format!("seed `{text}`: {e}"))
}

/// `xcbuf-emu fuzz`: fuzz, churn, isolation; prints the totals and each failing case;
/// non-zero exit on any fault, hang, unexpected result, leak or crossing byte.
pub fn command(
    sysmodule: &std::path::Path,
    sysmodule_elf: Option<&std::path::Path>,
    iterations: u64,
    seed: &str,
    churn_sessions: u64,
    rounds: u64,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let seed = match parse_seed(seed) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    println!("seed: {seed}");
    let config = crate::bench::RunConfig { sysmodule_elf: sysmodule_elf.map(|p| p.to_path_buf()), ..Default::default() };
    let mut bench = match HostBench::start_sysmodule(sysmodule, config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let mut ok = true;
    match fuzz(&mut bench, iterations, seed) {
        Ok(r) => {
            for f in &r.failures {
                println!("{f}");
            }
            println!("{}", r.summary());
            println!("server handles: {} at start, {} at end", r.handles_start, r.handles_end);
            ok &= r.ok();
        }
        Err(e) => {
            println!("fuzz: {e}");
            ok = false;
        }
    }
    if churn_sessions > 0 && bench.server_alive().is_ok() {
        match churn(&mut bench, churn_sessions, seed) {
            Ok(c) => {
                println!(
                    "churn: {} sessions opened and closed; past the limit: {} refused, {} closed by the server; server handles {} -> {}, mapped bytes {} -> {}; Stats open sessions at the limit: {:?}",
                    c.sessions_opened, c.over_limit_refused, c.over_limit_closed, c.handles_start, c.handles_end, c.mapped_start, c.mapped_end, c.open_sessions_end
                );
                match (c.heap_used_start, c.heap_used_end) {
                    (Some(a), Some(b)) => println!("churn: server heap used {a} -> {b} bytes"),
                    _ => println!("churn: server heap used not measured (give --sysmodule-elf)"),
                }
                for p in &c.problems {
                    println!("churn: {p}");
                }
                ok &= c.ok();
            }
            Err(e) => {
                println!("churn: {e}");
                ok = false;
            }
        }
    }
    if rounds > 0 && bench.server_alive().is_ok() {
        match isolation(&mut bench, rounds, seed) {
            Ok(i) => {
                println!("isolation: {} rounds, {} bytes of B's buffers checked, {} problems", i.rounds, i.bytes_checked, i.problems.len());
                for p in &i.problems {
                    println!("isolation: {p}");
                }
                ok &= i.problems.is_empty();
            }
            Err(e) => {
                println!("isolation: {e}");
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
