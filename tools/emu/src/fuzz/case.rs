//! One request of a campaign: a random structured [`Case`] for a service (a valid
//! request with one mutation at most, and what it must give, from [`super::oracle`]),
//! bit flips of its words ([`mutate`]), and the encoding of its shape as libnx lays a
//! request out.

use std::fmt::Write as _;

use xcbuf_common::hipc::{PointerDescriptor, ReceiveListEntry};
use xcbuf_common::sf::ServiceIdentity;
use xcbuf_common::xcbuf::{self, INDEXED, INDEXED_ENTRIES, SINGLE};

use super::oracle::{Expect, predict};
use super::rng::SplitMix64;
use crate::host_client::{HIGH_BUFFERS, LOW_BUFFERS, MESSAGE_WORDS};

/// The fill of C buffers before a request: bytes the server never writes unless asked.
pub const CANARY: u8 = 0xA5;
// The wire constants the oracle checks against: SFCI (horizon-ipc.md §6.2) and the
// pseudo-handle of the current process (horizon-ipc.md §3.2 step 7). Only the constants are
// shared with the codec; the oracle's rules stay its own.
pub(super) use xcbuf_common::cmif::IN_HEADER_MAGIC as SFCI;
pub(super) use xcbuf_common::hipc::PSEUDO_HANDLE_CURRENT_PROCESS as CURRENT_PROCESS;
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
pub(super) struct Input {
    pub(super) index: u8,
    pub(super) address: u64,
    pub(super) data: Vec<u8>,
}

/// Parameters of a structured request.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub(super) hipc_type: u32,
    pub(super) pid: bool,
    pub(super) copy_handles: Vec<u32>,
    pub(super) move_handles: usize,
    pub(super) inputs: Vec<Input>,
    /// Zero-size B descriptors.
    pub(super) b_count: u32,
    pub(super) magic: u32,
    pub(super) version: u32,
    pub(super) command: u32,
    pub(super) args: Vec<u8>,
    /// The u16 size table.
    pub(super) sizes: Vec<u16>,
    /// C entries the client arms (address, size); mode 2+n (libnx) or 0 when empty.
    pub(super) c_entries: Vec<(u64, usize)>,
    /// Raw words to drop from the end (truncated raw data).
    pub(super) truncate: usize,
}

pub(super) const fn align16(x: usize) -> usize {
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
            return Case {
                what: format!("unencodable ({e})"),
                words: vec![],
                outputs: vec![],
                payloads: vec![],
                expect: Expect::Documented,
            };
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
