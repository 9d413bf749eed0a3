//! Test support for HLE objects (the services' unit tests and the tests under `tests/`): a kernel with one code-less client process (pid
//! 0x80) that owns a large RW region for buffers, and [`Harness::call`], which builds a
//! CMIF request with `xcbuf_common::cmif` (as a client would), parses it with the
//! framework's parser ([`super::session::parse`]) and hands it to an object's
//! [`HleObject::handle`] with a real [`HleEnv`].

use xcbuf_common::cmif::{self, OutPointer, RequestSpec};
use xcbuf_common::hipc::{MapAliasAttribute, MapAliasDescriptor, PointerDescriptor, TLS_MESSAGE_BUFFER_SIZE};

use super::session::{self, Incoming};
use super::{Caller, HleEnv, HleObject, HleReply};
use crate::cpu::Perm;
use crate::kernel::{Kernel, KernelOptions, ProcessId, ThreadId};
use crate::memory::MemoryState;

/// The client's code-less data page (add_codeless_process).
pub const PAGE: u64 = 0x1000_0000;
/// Its buffer region and size.
pub const REGION: u64 = 0x2000_0000;
pub const REGION_SIZE: u64 = 0x100_0000;

/// What a test request carries.
#[derive(Clone, Copy, Default)]
pub struct RequestParts<'a> {
    pub command_id: u32,
    pub payload: &'a [u8],
    /// Send the PID (the kernel's pid of the process, 0x80).
    pub pid: bool,
    pub copy_handles: &'a [u32],
    pub in_pointers: &'a [PointerDescriptor],
    pub sends: &'a [MapAliasDescriptor],
    pub receives: &'a [MapAliasDescriptor],
    pub out_pointers: &'a [OutPointer],
}

/// A kernel and a client process to serve test requests from.
pub struct Harness {
    pub k: Kernel,
    pub process: ProcessId,
    pub thread: ThreadId,
    next: u64,
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        let mut k = Kernel::new(KernelOptions::default());
        let (process, thread) = k.add_codeless_process("client", PAGE);
        let p = &mut k.processes[process];
        p.space.map(&mut p.cpu, REGION, REGION_SIZE, Perm::RW, MemoryState::Normal).expect("map the region");
        Harness { k, process, thread, next: REGION }
    }

    /// The pid of the client (0x80: `add_codeless_process` of the first process).
    pub fn pid(&self) -> u64 {
        self.k.processes[self.process].pid
    }

    /// Reserves `size` bytes of the region (0x1000-aligned); its address.
    pub fn alloc(&mut self, size: u64) -> u64 {
        let at = self.next;
        self.next += size.div_ceil(0x1000).max(1) * 0x1000;
        assert!(self.next <= REGION + REGION_SIZE, "test region exhausted");
        at
    }

    /// An A/B descriptor of a new buffer holding `bytes`.
    pub fn buffer(&mut self, bytes: &[u8]) -> MapAliasDescriptor {
        let at = self.alloc(bytes.len() as u64);
        self.write(at, bytes);
        MapAliasDescriptor::new(at, bytes.len() as u64, MapAliasAttribute::Ipc).expect("descriptor")
    }

    /// A B descriptor of `size` zero bytes.
    pub fn out_buffer(&mut self, size: u64) -> MapAliasDescriptor {
        self.buffer(&vec![0u8; size as usize])
    }

    pub fn write(&mut self, address: u64, bytes: &[u8]) {
        self.k.processes[self.process].cpu.write(address, bytes).expect("write");
    }

    pub fn read(&self, address: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.k.processes[self.process].cpu.read(address, &mut v).expect("read");
        v
    }

    /// Serves one request on `object`; the reply and the C writes it staged.
    pub fn call_with_c(
        &mut self,
        object: &mut dyn HleObject,
        parts: &RequestParts<'_>,
    ) -> (HleReply, Vec<(usize, Vec<u8>)>) {
        let mut words = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        let spec = RequestSpec {
            command_id: parts.command_id,
            process_id: parts.pid.then_some(0),
            copy_handles: parts.copy_handles,
            in_pointers: parts.in_pointers,
            sends: parts.sends,
            receives: parts.receives,
            out_pointers: parts.out_pointers,
            payload: parts.payload,
            ..RequestSpec::default()
        };
        cmif::build_request(&mut words, &spec).expect("build the request");
        let Ok(Incoming::Request(mut request)) = session::parse(&words, false) else { panic!("not a request") };
        // The kernel writes the sender's pid.
        if request.pid.is_some() {
            request.pid = Some(self.pid());
        }
        let caller =
            Caller { process: self.process, thread: self.thread, pid: self.pid(), thread_name: "client#0".into() };
        let mut env = HleEnv::new(&mut self.k, &caller);
        let reply = object.handle(&request.as_request(&caller), &mut env);
        let c = env.c_writes().to_vec();
        (reply, c)
    }

    /// Serves one request on `object`.
    pub fn call(&mut self, object: &mut dyn HleObject, parts: &RequestParts<'_>) -> HleReply {
        self.call_with_c(object, parts).0
    }
}
