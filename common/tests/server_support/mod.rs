//! Test helper: the server core driven through the kernel's message copy. Requests built
//! by `xcbuf_common::client` go into the server's message buffer and pointer buffer, and
//! replies back into the client's C buffers, by the same model of mesosphere's
//! `KServerSession::ReceiveMessage` / `SendMessage` that the bench runs
//! (`xcbuf_kmodel::message`, horizon-ipc.md §3.3, §4), here over plain buffers.
#![allow(dead_code)]

use xcbuf_common::hipc::TLS_MESSAGE_BUFFER_WORDS as MESSAGE_BUFFER_WORDS;
use xcbuf_common::hipc::{Message, PointerDescriptor};
use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_common::sf::{Action, Handled, Server, ServerConfig, ServiceHandler};
use xcbuf_common::xcbuf;
use xcbuf_kmodel::message::{self, HandleTranslator, MessageBuffer, MessageMemory, Side, UserAccess};

/// Guest address of the client thread's TLS message buffer (what `client_tls` holds).
pub const CLIENT_TLS: u64 = 0x0000_7000_0000;
/// Guest address of the server thread's TLS message buffer (what `tls` holds).
pub const SERVER_TLS: u64 = 0x0000_7000_1000;
/// Process ids the kernel writes into a pid slot.
pub const CLIENT_PID: u64 = 0x51;
pub const SERVER_PID: u64 = 0x52;

/// Guest memory of the client: one flat region at `base`.
pub struct ClientMemory {
    pub base: u64,
    pub bytes: Vec<u8>,
}

impl ClientMemory {
    pub fn new(base: u64, size: usize, fill: u8) -> ClientMemory {
        ClientMemory { base, bytes: vec![fill; size] }
    }
    pub fn range(&self, addr: u64, len: usize) -> std::ops::Range<usize> {
        let off = (addr - self.base) as usize;
        off..off + len
    }
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        let r = self.range(addr, data.len());
        self.bytes[r].copy_from_slice(data);
    }
    pub fn read(&self, addr: u64, len: usize) -> &[u8] {
        &self.bytes[self.range(addr, len)]
    }
}

fn words_to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn bytes_to_words(bytes: &[u8], out: &mut [u32]) {
    for (w, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

/// One mapped, user-read-writable range of one process.
struct Region {
    side: Side,
    base: u64,
    bytes: Vec<u8>,
}

/// Index of each buffer in `Processes::regions` (the order `Processes::new` builds them in).
const CLIENT_MESSAGE: usize = 0;
const CLIENT_DATA: usize = 1;
const SERVER_MESSAGE: usize = 2;
const SERVER_POINTER_BUFFER: usize = 3;

/// Both processes' memory for one copy: the two TLS message buffers, the server's
/// pointer buffer and the client's memory, copied in before and out after the copy.
/// Anything else is unmapped (kernel InvalidCurrentMemory).
struct Processes {
    regions: Vec<Region>,
}

impl Processes {
    fn new(
        client_msg: &[u32],
        client: &ClientMemory,
        server_msg: &[u32],
        pointer_buffer: &[u8],
        pointer_buffer_base: u64,
    ) -> Processes {
        let regions = vec![
            Region { side: Side::Client, base: CLIENT_TLS, bytes: words_to_bytes(client_msg) },
            Region { side: Side::Client, base: client.base, bytes: client.bytes.clone() },
            Region { side: Side::Server, base: SERVER_TLS, bytes: words_to_bytes(server_msg) },
            Region { side: Side::Server, base: pointer_buffer_base, bytes: pointer_buffer.to_vec() },
        ];
        for (i, a) in regions.iter().enumerate() {
            for b in &regions[i + 1..] {
                let apart = a.base + a.bytes.len() as u64 <= b.base || b.base + b.bytes.len() as u64 <= a.base;
                assert!(a.side != b.side || apart, "test memory regions overlap: {:#x} and {:#x}", a.base, b.base);
            }
        }
        Processes { regions }
    }

    /// The region holding all of `[address, address + len)` in `side`, and the offset.
    fn find(&mut self, side: Side, address: u64, len: u64) -> Result<(&mut Region, usize), ResultCode> {
        self.regions
            .iter_mut()
            .find(|r| {
                r.side == side && address >= r.base && address.saturating_add(len) <= r.base + r.bytes.len() as u64
            })
            .map(|r| {
                let off = (address - r.base) as usize;
                (r, off)
            })
            .ok_or(kernel::INVALID_CURRENT_MEMORY)
    }

    fn bytes(&self, i: usize) -> &[u8] {
        &self.regions[i].bytes
    }
}

impl MessageMemory for Processes {
    fn read(&mut self, side: Side, address: u64, out: &mut [u8]) -> Result<(), ResultCode> {
        let (r, off) = self.find(side, address, out.len() as u64)?;
        out.copy_from_slice(&r.bytes[off..off + out.len()]);
        Ok(())
    }
    fn write(&mut self, side: Side, address: u64, data: &[u8]) -> Result<(), ResultCode> {
        let (r, off) = self.find(side, address, data.len() as u64)?;
        r.bytes[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn check_user_access(
        &mut self,
        side: Side,
        address: u64,
        size: u64,
        _access: UserAccess,
    ) -> Result<(), ResultCode> {
        // Every mapped region is user-read-writable.
        self.find(side, address, size).map(|_| ())
    }
}

/// Handle tables: these tests pass no handles between processes; a copied or moved handle
/// keeps its value (the server core only hands copy handles back).
struct Handles;

impl HandleTranslator for Handles {
    fn process_id(&mut self, side: Side) -> u64 {
        match side {
            Side::Client => CLIENT_PID,
            Side::Server => SERVER_PID,
        }
    }
    fn copy_handle(&mut self, _from: Side, handle: u32) -> Result<u32, ResultCode> {
        Ok(handle)
    }
    fn move_handle(&mut self, _from: Side, handle: u32) -> Result<u32, ResultCode> {
        Ok(handle)
    }
    fn close_handle(&mut self, _side: Side, _handle: u32) {}
}

/// Delivers the client's request in `client_msg` into the server's buffers with the
/// kernel's ReceiveMessage (header, X packed by the server's receive list, raw data).
/// Returns the X addresses the kernel chose (0 for zero-size X), or Err(the client's
/// kernel result, e.g. 0xce01 when an X has no room).
pub fn deliver_request(
    client_msg: &[u32],
    client: &ClientMemory,
    server_msg: &mut [u32],
    pointer_buffer: &mut [u8],
    pointer_buffer_base: u64,
) -> Result<Vec<u64>, u32> {
    let mut mem = Processes::new(client_msg, client, server_msg, pointer_buffer, pointer_buffer_base);
    let report = message::receive_message(
        &mut mem,
        &mut Handles,
        MessageBuffer::thread_local(SERVER_TLS),
        MessageBuffer::thread_local(CLIENT_TLS),
    );
    // The server's buffers as the kernel left them (also after a failure: its cleanup).
    bytes_to_words(mem.bytes(SERVER_MESSAGE), server_msg);
    pointer_buffer.copy_from_slice(mem.bytes(SERVER_POINTER_BUFFER));
    let report = report.map_err(|f| f.client_result.raw())?;
    Ok(report.pointers.iter().map(|p| p.destination).collect())
}

/// Delivers the server's reply back to the client with the kernel's SendMessage: the
/// client's receive list comes from its buffer, still holding its request
/// (`client_request`); each reply X lands by that list, and the reply replaces the request
/// in `client_msg`. Err(the client's kernel result, e.g. 0xce01 when an X does not fit).
pub fn deliver_reply(
    server_msg: &[u32],
    pointer_buffer: &[u8],
    pointer_buffer_base: u64,
    client_request: &[u32],
    client: &mut ClientMemory,
    client_msg: &mut [u32],
) -> Result<(), u32> {
    let mut mem = Processes::new(client_request, client, server_msg, pointer_buffer, pointer_buffer_base);
    let result = message::send_message(
        &mut mem,
        &mut Handles,
        MessageBuffer::thread_local(SERVER_TLS),
        MessageBuffer::thread_local(CLIENT_TLS),
    );
    bytes_to_words(mem.bytes(CLIENT_MESSAGE), client_msg);
    client.bytes.copy_from_slice(mem.bytes(CLIENT_DATA));
    result.map(|_| ()).map_err(|f| f.client_result.raw())
}

/// A server, its message buffer and pointer buffer (filled with a canary), and one
/// client with its memory: the whole round trip of design.md "Data flow".
pub struct RoundTrip<S: ServiceHandler = xcbuf::Xcbuf> {
    pub server: Server<S>,
    pub tls: [u32; MESSAGE_BUFFER_WORDS],
    pub pointer_buffer: Vec<u8>,
    pub base: u64,
    pub client: ClientMemory,
    pub client_tls: [u32; MESSAGE_BUFFER_WORDS],
}

/// The canary the pointer buffer is filled with before any request.
pub const POINTER_BUFFER_CANARY: u8 = 0xCC;
/// Guest address of the client's memory.
pub const CLIENT_BASE: u64 = 0x0850_0000;

impl RoundTrip {
    pub fn new(config: ServerConfig) -> RoundTrip {
        RoundTrip::with_handler(xcbuf::Xcbuf, config)
    }
}

impl<S: ServiceHandler> RoundTrip<S> {
    /// A round trip for any service on the framework.
    pub fn with_handler(handler: S, config: ServerConfig) -> RoundTrip<S> {
        let server = Server::new(handler, config).expect("valid config");
        let mut tls = [0u32; MESSAGE_BUFFER_WORDS];
        server.prepare_receive(&mut tls).unwrap();
        RoundTrip {
            pointer_buffer: vec![POINTER_BUFFER_CANARY; config.area.size],
            base: config.area.guest_addr,
            server,
            tls,
            client: ClientMemory::new(CLIENT_BASE, 0x4000, 0xEE),
            client_tls: [0; MESSAGE_BUFFER_WORDS],
        }
    }

    /// Sends the request in `client_tls` from session `slot`: kernel delivery, server
    /// dispatch, reply delivery. Returns the server's outcome, or Err(kernel result).
    pub fn call(&mut self, slot: usize) -> Result<Handled, u32> {
        let request = self.client_tls;
        deliver_request(&request, &self.client, &mut self.tls, &mut self.pointer_buffer, self.base)?;
        let handled = self.server.handle(slot, &mut self.tls, &mut self.pointer_buffer);
        if handled.action == Action::Reply {
            deliver_reply(
                &self.tls,
                &self.pointer_buffer,
                self.base,
                &request,
                &mut self.client,
                &mut self.client_tls,
            )?;
        }
        Ok(handled)
    }

    /// The reply's X descriptors in the server's buffer (before delivery rewrote them).
    pub fn server_reply_pointers(&self) -> Vec<PointerDescriptor> {
        Message::parse(&self.tls).unwrap().pointer_descriptors().collect()
    }
}
