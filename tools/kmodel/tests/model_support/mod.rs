//! Shared support for the kernel message-copy tests: a Vec-backed memory per side
//! with per-region user permissions, and a HashMap handle table per side.
#![allow(dead_code)]

use std::collections::HashMap;

use xcbuf_common::hipc::{
    MapAliasAttribute, MapAliasDescriptor, MessageHeader, PointerDescriptor, ReceiveListEntry, ReceiveListMode,
    SpecialHeader,
};
use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_kmodel::message::{
    HandleTranslator, MessageBuffer, MessageMemory, PSEUDO_HANDLE_CURRENT_PROCESS, PSEUDO_HANDLE_CURRENT_THREAD,
    ReceiveFailure, SendFailure, Side, TransferReport, UserAccess, receive_message, send_message,
};

/// Server thread's TLS (0x200-aligned; message buffer = first 0x100 bytes).
pub const SERVER_TLS: u64 = 0x0002_0000;
/// Client thread's TLS.
pub const CLIENT_TLS: u64 = 0x0003_0000;
/// Server memory holding the §3.3 example's pointer buffer (0x1008/0x100).
pub const SERVER_DATA: u64 = 0x1000;
/// Client memory for X sources and C buffers.
pub const CLIENT_DATA: u64 = 0x0004_0000;
/// Process ids.
pub const CLIENT_PID: u64 = 0x51;
pub const SERVER_PID: u64 = 0x52;

struct Region {
    base: u64,
    bytes: Vec<u8>,
    /// None: mapped but not accessible to user mode (kernel-only).
    access: Option<UserAccess>,
}

/// Guest memory of both processes.
#[derive(Default)]
pub struct TestMemory {
    regions: HashMap<Side, Vec<Region>>,
}

impl TestMemory {
    pub fn map(&mut self, side: Side, base: u64, size: usize, access: Option<UserAccess>) {
        self.regions.entry(side).or_default().push(Region { base, bytes: vec![0; size], access });
    }

    fn find(&self, side: Side, address: u64, len: u64) -> Option<(usize, usize)> {
        let end = address.checked_add(len)?;
        let regions = self.regions.get(&side)?;
        regions.iter().enumerate().find_map(|(i, r)| {
            let r_end = r.base + r.bytes.len() as u64;
            (address >= r.base && end <= r_end).then(|| (i, (address - r.base) as usize))
        })
    }

    pub fn put(&mut self, side: Side, address: u64, data: &[u8]) {
        MessageMemory::write(self, side, address, data).expect("test write to mapped memory");
    }

    pub fn get(&mut self, side: Side, address: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        MessageMemory::read(self, side, address, &mut out).expect("test read of mapped memory");
        out
    }

    pub fn put_words(&mut self, side: Side, address: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.put(side, address, &bytes);
    }

    pub fn get_words(&mut self, side: Side, address: u64, count: usize) -> Vec<u32> {
        self.get(side, address, 4 * count)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

impl MessageMemory for TestMemory {
    fn read(&mut self, side: Side, address: u64, out: &mut [u8]) -> Result<(), ResultCode> {
        let (i, off) = self.find(side, address, out.len() as u64).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
        out.copy_from_slice(&self.regions[&side][i].bytes[off..off + out.len()]);
        Ok(())
    }

    fn write(&mut self, side: Side, address: u64, data: &[u8]) -> Result<(), ResultCode> {
        let (i, off) = self.find(side, address, data.len() as u64).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
        let region = &mut self.regions.get_mut(&side).expect("found above")[i];
        region.bytes[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn check_user_access(&mut self, side: Side, address: u64, size: u64, access: UserAccess) -> Result<(), ResultCode> {
        let (i, _) = self.find(side, address, size).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
        match (self.regions[&side][i].access, access) {
            (Some(UserAccess::ReadWrite), _) | (Some(UserAccess::Read), UserAccess::Read) => Ok(()),
            _ => Err(kernel::INVALID_CURRENT_MEMORY),
        }
    }
}

/// A kernel object in the test: an id the tables point at.
pub type Object = u32;
pub const THREAD_OBJECT: [Object; 2] = [0x7001, 0x7002];
pub const PROCESS_OBJECT: [Object; 2] = [0x6001, 0x6002];

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

/// Handle tables of both processes.
pub struct TestHandles {
    pub tables: HashMap<(Side, u32), Object>,
    next: [u32; 2],
    /// When set, adding a handle to this side's table fails with OutOfHandles.
    pub full: Option<Side>,
}

impl Default for TestHandles {
    fn default() -> Self {
        TestHandles { tables: HashMap::new(), next: [0x100, 0x200], full: None }
    }
}

impl TestHandles {
    pub fn add(&mut self, side: Side, object: Object) -> Result<u32, ResultCode> {
        if self.full == Some(side) {
            return Err(kernel::OUT_OF_HANDLES);
        }
        let slot = &mut self.next[side_index(side)];
        let handle = *slot;
        *slot += 1;
        self.tables.insert((side, handle), object);
        Ok(handle)
    }

    pub fn object(&self, side: Side, handle: u32) -> Option<Object> {
        self.tables.get(&(side, handle)).copied()
    }
}

impl HandleTranslator for TestHandles {
    fn process_id(&mut self, side: Side) -> u64 {
        match side {
            Side::Client => CLIENT_PID,
            Side::Server => SERVER_PID,
        }
    }

    fn copy_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode> {
        assert_ne!(handle, 0, "the kernel never translates handle 0");
        let object = match handle {
            PSEUDO_HANDLE_CURRENT_THREAD => THREAD_OBJECT[side_index(from)],
            PSEUDO_HANDLE_CURRENT_PROCESS => PROCESS_OBJECT[side_index(from)],
            _ => self.object(from, handle).ok_or(kernel::INVALID_HANDLE)?,
        };
        self.add(from.peer(), object)
    }

    fn move_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode> {
        assert_ne!(handle, 0, "the kernel never translates handle 0");
        let object = self.object(from, handle).ok_or(kernel::INVALID_HANDLE)?;
        self.tables.remove(&(from, handle));
        self.add(from.peer(), object)
    }

    fn close_handle(&mut self, side: Side, handle: u32) {
        assert_ne!(handle, 0, "the kernel never closes handle 0");
        self.tables.remove(&(side, handle));
    }
}

/// Both processes: TLS buffers, a server data region at 0x1000 and a client data region.
pub struct Bench {
    pub mem: TestMemory,
    pub handles: TestHandles,
}

impl Bench {
    pub fn new() -> Bench {
        let mut mem = TestMemory::default();
        mem.map(Side::Server, SERVER_TLS, 0x200, Some(UserAccess::ReadWrite));
        mem.map(Side::Client, CLIENT_TLS, 0x200, Some(UserAccess::ReadWrite));
        mem.map(Side::Server, SERVER_DATA, 0x1000, Some(UserAccess::ReadWrite));
        mem.map(Side::Client, CLIENT_DATA, 0x1000, Some(UserAccess::ReadWrite));
        Bench { mem, handles: TestHandles::default() }
    }

    /// Writes `words` at word 0 of the server's TLS message buffer.
    pub fn server_message(&mut self, words: &[u32]) {
        self.mem.put_words(Side::Server, SERVER_TLS, words);
    }

    /// Writes `words` at word 0 of the client's TLS message buffer.
    pub fn client_message(&mut self, words: &[u32]) {
        self.mem.put_words(Side::Client, CLIENT_TLS, words);
    }

    pub fn server_words(&mut self, count: usize) -> Vec<u32> {
        self.mem.get_words(Side::Server, SERVER_TLS, count)
    }

    pub fn client_words(&mut self, count: usize) -> Vec<u32> {
        self.mem.get_words(Side::Client, CLIENT_TLS, count)
    }

    /// libstratosphere's pre-receive arming (§5.1): type 0, mode 2, offset 0, the single
    /// C entry at word 2.
    pub fn arm_single(&mut self, address: u64, size: u64) {
        let c = entry(address, size);
        self.server_message(&[0, 0x0000_0800, c[0], c[1]]);
    }

    /// The request path over the two TLS buffers.
    pub fn receive(&mut self) -> Result<TransferReport, ReceiveFailure> {
        let (dst, src) = (server_tls(), client_tls());
        receive_message(&mut self.mem, &mut self.handles, dst, src)
    }

    /// The reply path over the two TLS buffers.
    pub fn reply(&mut self) -> Result<TransferReport, SendFailure> {
        let (src, dst) = (server_tls(), client_tls());
        send_message(&mut self.mem, &mut self.handles, src, dst)
    }
}

/// The server thread's TLS message buffer.
pub fn server_tls() -> MessageBuffer {
    MessageBuffer::thread_local(SERVER_TLS)
}

/// The client thread's TLS message buffer.
pub fn client_tls() -> MessageBuffer {
    MessageBuffer::thread_local(CLIENT_TLS)
}

/// `n` bytes of a pattern seeded by `seed` (never all zero).
pub fn pattern(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)) | 1).collect()
}

/// Header words 0–1.
pub fn header(h: MessageHeader) -> [u32; 2] {
    h.encode().expect("test header fits")
}

/// A plain header: tag, X count, raw words, receive-list mode.
pub fn hdr(tag: u16, pointer_count: u8, raw_count: u16, mode: ReceiveListMode) -> MessageHeader {
    MessageHeader { tag, pointer_count, raw_count, receive_list_mode: mode, ..MessageHeader::default() }
}

/// X descriptor words.
pub fn x(index: u8, address: u64, size: u64) -> [u32; 2] {
    PointerDescriptor::new(index, address, size).expect("test X fits").encode()
}

/// C entry words.
pub fn entry(address: u64, size: u64) -> [u32; 2] {
    ReceiveListEntry::new(address, size).expect("test C fits").encode()
}

/// A/B/W descriptor words.
pub fn map_alias(address: u64, size: u64, attribute: MapAliasAttribute) -> [u32; 3] {
    MapAliasDescriptor::new(address, size, attribute).expect("test A/B/W fits").encode()
}

/// Special header word.
pub fn special(send_pid: bool, copy: u8, moves: u8) -> u32 {
    SpecialHeader { send_pid, copy_handle_count: copy, move_handle_count: moves }
        .encode()
        .expect("test special header fits")
}

/// Decodes the X descriptor at word `idx` of `words` as (address, size, index).
pub fn x_at(words: &[u32], idx: usize) -> (u64, u16, u8) {
    let d = PointerDescriptor::decode([words[idx], words[idx + 1]]);
    (d.address(), d.size(), d.index())
}

/// Concatenates word slices.
pub fn cat(parts: &[&[u32]]) -> Vec<u32> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}
