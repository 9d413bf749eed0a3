//! Test helper: a tiny stand-in for the kernel's message copy (`horizon-ipc.md` §3.3,
//! §4), just enough to move a client request into the server's message buffer and
//! pointer buffer, and the reply back into the client's C buffers. The real kernel model
//! lives in tools/emu; this one only exists so the server core can be driven with
//! requests built by `xcbuf_common::client` and replies parsed by it.
#![allow(dead_code)]

use xcbuf_common::xcbuf;
use xcbuf_common::hipc::{Message, PointerDescriptor, ReceiveListEntry, ReceiveListMode};
use xcbuf_common::hipc::TLS_MESSAGE_BUFFER_WORDS as MESSAGE_BUFFER_WORDS;
use xcbuf_common::sf::{Action, Handled, Server, ServerConfig, ServiceHandler};

/// Kernel OutOfResource (horizon-ipc.md §8).
pub const OUT_OF_RESOURCE: u32 = 0xce01;

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

const fn align_up(x: u64) -> u64 {
    (x + 15) & !15
}

/// The receive list the server armed in its own buffer: (mode, entries).
fn server_receive_list(server_msg: &[u32]) -> (ReceiveListMode, Vec<ReceiveListEntry>) {
    let m = Message::parse(server_msg).expect("server message buffer must parse");
    (m.header().receive_list_mode, m.receive_list().collect())
}

/// `GetBuffer` of §3.3 for one X; returns the destination address or None.
fn get_buffer(mode: ReceiveListMode, entries: &[ReceiveListEntry], key: &mut u64, x: &PointerDescriptor) -> Option<u64> {
    let size = u64::from(x.size());
    match mode {
        ReceiveListMode::ToSingleBuffer => {
            let e = entries[0];
            let end = e.address() + u64::from(e.size());
            let buf = align_up(e.address() + *key);
            if e.size() == 0 || buf + size > end {
                return None;
            }
            *key = buf + size - e.address();
            Some(buf)
        }
        ReceiveListMode::Index(_) => {
            let e = entries.get(usize::from(x.index()))?;
            if e.size() == 0 || e.address() == 0 || u64::from(e.size()) < size {
                return None;
            }
            Some(e.address())
        }
        _ => None,
    }
}

/// Delivers the client's request in `client_msg` into the server's buffers, as the
/// kernel's ReceiveMessage does: header, X (packed by the server's receive list), raw.
/// Returns the X addresses the kernel chose (0 for zero-size X), or Err(0xce01).
pub fn deliver_request(
    client_msg: &[u32],
    client: &ClientMemory,
    server_msg: &mut [u32],
    pointer_buffer: &mut [u8],
    pointer_buffer_base: u64,
) -> Result<Vec<u64>, u32> {
    let (mode, entries) = server_receive_list(server_msg);
    let req = Message::parse(client_msg).expect("client request must parse");
    let layout = *req.layout();
    let mut placed = Vec::new();
    let mut key = 0u64;
    // Words 0-1 verbatim (§3.2 step 6).
    server_msg[0] = client_msg[0];
    server_msg[1] = client_msg[1];
    for (i, x) in req.pointer_descriptors().enumerate() {
        let mut addr = 0;
        if x.size() > 0 {
            addr = get_buffer(mode, &entries, &mut key, &x).ok_or(OUT_OF_RESOURCE)?;
            let off = (addr - pointer_buffer_base) as usize;
            pointer_buffer[off..off + usize::from(x.size())]
                .copy_from_slice(client.read(x.address(), usize::from(x.size())));
        }
        placed.push(addr);
        let d = PointerDescriptor::new(x.index(), addr, u64::from(x.size())).unwrap();
        let at = layout.pointer_idx() + 2 * i;
        server_msg[at..at + 2].copy_from_slice(&d.encode());
    }
    let raw = layout.raw_idx()..layout.raw_end_idx();
    server_msg[raw.clone()].copy_from_slice(&client_msg[raw]);
    Ok(placed)
}

/// Delivers the server's reply back to the client, as SendMessage does: the client's
/// receive list comes from its original request (`client_request`), each reply X goes
/// to C\[index\] (the client builds indexed lists), and the client's X is rewritten to
/// `{C address, size, index}`. Err(0xce01) when an X does not fit its C entry.
pub fn deliver_reply(
    server_msg: &[u32],
    pointer_buffer: &[u8],
    pointer_buffer_base: u64,
    client_request: &[u32],
    client: &mut ClientMemory,
    client_msg: &mut [u32],
) -> Result<(), u32> {
    let (mode, entries) = server_receive_list(client_request);
    let reply = Message::parse(server_msg).expect("server reply must parse");
    let layout = *reply.layout();
    client_msg.fill(0);
    client_msg[0] = server_msg[0];
    client_msg[1] = server_msg[1];
    let mut key = 0u64;
    for (i, x) in reply.pointer_descriptors().enumerate() {
        let mut addr = 0;
        if x.size() > 0 {
            addr = get_buffer(mode, &entries, &mut key, &x).ok_or(OUT_OF_RESOURCE)?;
            let off = (x.address() - pointer_buffer_base) as usize;
            client.write(addr, &pointer_buffer[off..off + usize::from(x.size())]);
        }
        let d = PointerDescriptor::new(x.index(), addr, u64::from(x.size())).unwrap();
        let at = layout.pointer_idx() + 2 * i;
        client_msg[at..at + 2].copy_from_slice(&d.encode());
    }
    let raw = layout.raw_idx()..layout.raw_end_idx();
    client_msg[raw.clone()].copy_from_slice(&server_msg[raw]);
    Ok(())
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
            deliver_reply(&self.tls, &self.pointer_buffer, self.base, &request, &mut self.client, &mut self.client_tls)?;
        }
        Ok(handled)
    }

    /// The reply's X descriptors in the server's buffer (before delivery rewrote them).
    pub fn server_reply_pointers(&self) -> Vec<PointerDescriptor> {
        Message::parse(&self.tls).unwrap().pointer_descriptors().collect()
    }
}
