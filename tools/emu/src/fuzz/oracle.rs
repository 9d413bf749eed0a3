//! What a case must give, and whether an answer gave it. The prediction follows the
//! result table of `xcbuf_common::xcbuf` (server side) and horizon-ipc.md §3-§4 (what the
//! kernel refuses); it is written independently of the bench's kernel model on purpose,
//! so that the two check each other.

use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_common::sf::ReceiveMode;
use xcbuf_common::xcbuf::{self, MAX_SESSIONS};

use super::case::{CANARY, CURRENT_PROCESS, Case, Input, SFCI, Service, Shape, align16};
use crate::host_client::{Answer, HostBench, HostClient};

/// SFCO (horizon-ipc.md §6.2), the codec's constant.
use xcbuf_common::cmif::OUT_HEADER_MAGIC as SFCO;

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
pub(super) fn predict(service: Service, s: &Shape, raw_words_full: usize) -> Expect {
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

fn check_expect(
    expect: &Expect,
    case: &Case,
    answer: &Answer,
    client: &HostClient,
    bench: &HostBench,
) -> Result<(), String> {
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
            let got_data: Vec<u8> =
                answer.words[data_at..].iter().flat_map(|w| w.to_le_bytes()).take(data.len()).collect();
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
                    return Err(format!(
                        "C[{k}] byte {} past the {} written was overwritten",
                        want.len() + i,
                        want.len()
                    ));
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
