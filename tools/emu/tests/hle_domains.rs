//! The HLE framework (crate::hle) at the svc level: a code-less client process sends
//! requests with SendSyncRequest to a small test service (and to fsp-srv and sm), and the
//! test reads the reply words from its TLS. Each test names the rule it proves and cites
//! the libstratosphere function it follows (Atmosphère `libstratosphere/source/sf`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use xcbuf_common::cmif::{self, CommandType, OutPointer, RequestSpec};
use xcbuf_common::hipc::{PointerDescriptor, ReceiveListEntry, TLS_MESSAGE_BUFFER_SIZE};
use xcbuf_common::result::kernel;
use xcbuf_common::sm::ServiceName;
use xcbuf_emu::cpu::{Cpu, PAGE_SIZE, Perm};
use xcbuf_emu::hle::{self, HleEnv, HleObject, HleReply, HleRequest, HleService, Reply};
use xcbuf_emu::kernel::handle_table::DEFAULT_TABLE_SIZE;
use xcbuf_emu::kernel::process::KProcess;
use xcbuf_emu::kernel::svc::SvcFlow;
use xcbuf_emu::kernel::thread::{InitialRegisters, ThreadState, Wait};
use xcbuf_emu::kernel::{KObjectRef, Kernel, KernelOptions, ProcessId, ThreadId};
use xcbuf_emu::memory::{AddressSpace, MemoryState};
use xcbuf_emu::observe::RunEnd;

/// A RW page of the client (buffers).
const DATA: u64 = 0x1000_0000;
const SVC_CLOSE_HANDLE: u32 = 0x16;
const SVC_SEND_SYNC_REQUEST: u32 = 0x21;
const SVC_CONNECT_TO_NAMED_PORT: u32 = 0x1f;
const WORDS: usize = TLS_MESSAGE_BUFFER_SIZE / 4;

/// What the test objects saw go away.
type Log = Rc<RefCell<Vec<String>>>;

/// The test service `hletest`: its root object answers 0 (its tag), 1 OpenChild (an
/// object with tag + 1), 2 (16 bytes into C[0]), 3 (deferred); anything else is unknown.
struct TestService {
    log: Log,
}

struct TestObject {
    interface: &'static str,
    tag: u32,
    log: Log,
}

impl HleService for TestService {
    fn name(&self) -> ServiceName {
        ServiceName::literal("hletest")
    }
    fn max_sessions(&self) -> u32 {
        8
    }
    fn pointer_buffer_size(&self) -> u16 {
        0x400
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(TestObject { interface: "ITestRoot", tag: 1, log: self.log.clone() })
    }
}

impl HleObject for TestObject {
    fn interface(&self) -> &'static str {
        self.interface
    }
    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        match request.command_id {
            0 => HleReply::ok(self.tag.to_le_bytes().to_vec()),
            1 => HleReply::Reply(Reply {
                payload: vec![0xee, 0xff],
                out_objects: vec![Box::new(TestObject {
                    interface: "ITestChild",
                    tag: self.tag + 1,
                    log: self.log.clone(),
                })],
                ..Reply::default()
            }),
            2 => {
                let len = request.payload_u32(0).unwrap_or(16) as usize;
                env.write_c(0, vec![0xab; len]);
                HleReply::ok(Vec::new())
            }
            3 => HleReply::Defer { what: "waiting for the test".into() },
            _ => HleReply::Unknown,
        }
    }
    fn closed(&mut self, _k: &mut Kernel, _s: usize) {
        self.log.borrow_mut().push(format!("{} {}", self.interface, self.tag));
    }
}

struct Bench {
    k: Kernel,
    p: ProcessId,
    t: ThreadId,
    log: Log,
}

fn bench() -> Bench {
    let mut k = Kernel::new(KernelOptions::default());
    let log: Log = Rc::default();
    let mut services = xcbuf_emu::hle::registry::services();
    services.push(Box::new(TestService { log: log.clone() }));
    hle::install_services(&mut k, services);
    let mut cpu = Cpu::new().expect("unicorn engine");
    let mut space = AddressSpace::default();
    space.map(&mut cpu, DATA, PAGE_SIZE, Perm::RW, MemoryState::Normal).expect("map");
    let p = k.processes.len();
    k.processes.push(KProcess::codeless("client", 0x51, 0x0100_0000_0000_5000, cpu, space, DEFAULT_TABLE_SIZE));
    let initial = InitialRegisters { pc: 0, sp: 0, x0: 0, x1: 0, lr: 0 };
    let t = k.create_thread(p, initial, 44).expect("thread");
    k.threads[t].state = ThreadState::Runnable;
    Bench { k, p, t, log }
}

impl Bench {
    fn connect(&mut self, name: &str) -> u32 {
        let port = self.k.services[name].port;
        self.k.connect_port(self.p, port).expect("connect")
    }

    /// SendSyncRequest with `words` in the TLS: the svc's result (None: the thread
    /// blocks) and the TLS words after it.
    fn send(&mut self, handle: u32, words: &[u32]) -> (Option<u32>, Vec<u32>) {
        let tls = self.k.threads[self.t].tls;
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.k.processes[self.p].cpu.write(tls, &bytes).expect("tls");
        self.k.processes[self.p].cpu.set_x(0, u64::from(handle)).expect("x0");
        let flow = self.k.handle_svc(self.t, SVC_SEND_SYNC_REQUEST);
        let result = match flow {
            SvcFlow::Block => None,
            _ => Some(self.k.processes[self.p].cpu.x(0) as u32),
        };
        let mut out = vec![0u8; TLS_MESSAGE_BUFFER_SIZE];
        self.k.processes[self.p].cpu.read(tls, &mut out).expect("tls");
        (result, out.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    fn close(&mut self, handle: u32) {
        self.k.processes[self.p].cpu.set_x(0, u64::from(handle)).expect("x0");
        self.k.handle_svc(self.t, SVC_CLOSE_HANDLE);
        assert_eq!(self.k.processes[self.p].cpu.x(0), 0, "CloseHandle");
    }
}

fn plain(command_type: CommandType, command_id: u32, payload: &[u8]) -> Vec<u32> {
    let mut buf = [0u32; WORDS];
    let spec = RequestSpec { command_type, command_id, payload, ..RequestSpec::default() };
    cmif::build_request(&mut buf, &spec).expect("request");
    buf.to_vec()
}

fn request(command_id: u32, payload: &[u8]) -> Vec<u32> {
    plain(CommandType::Request, command_id, payload)
}

fn control(command_id: u32, payload: &[u8]) -> Vec<u32> {
    plain(CommandType::Control, command_id, payload)
}

/// A libnx domain request (`cmifMakeRequest` with `object_id`; `cmifMakeCloseRequest` for
/// type 2): type 4, raw data at word 2 + `x` descriptors, the domain header at the next
/// 16-byte boundary, SFCI, args, in-object ids, the rest of the 16-byte padding budget.
fn domain(kind: u8, object_id: u32, command_id: u32, args: &[u8], x: &[PointerDescriptor]) -> Vec<u32> {
    let raw_start = 4 * (2 + 2 * x.len());
    let pad = raw_start.next_multiple_of(16) - raw_start;
    let mut raw = vec![0u8; pad];
    let data_size = if kind == 2 { 0 } else { (16 + args.len()) as u16 };
    raw.push(kind);
    raw.push(0);
    raw.extend_from_slice(&data_size.to_le_bytes());
    raw.extend_from_slice(&object_id.to_le_bytes());
    raw.extend_from_slice(&[0; 8]);
    if kind != 2 {
        for w in [cmif::IN_HEADER_MAGIC, 0, command_id, 0] {
            raw.extend_from_slice(&w.to_le_bytes());
        }
        raw.extend_from_slice(args);
    } else {
        raw.extend_from_slice(&[0; 16]);
    }
    raw.extend_from_slice(&vec![0; 16 - pad]);
    raw.resize(raw.len().next_multiple_of(4), 0);
    let mut words = vec![4 | ((x.len() as u32) << 16), (raw.len() / 4) as u32];
    for d in x {
        words.extend_from_slice(&d.encode());
    }
    words.extend(raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    words.resize(WORDS, 0);
    words
}

/// The raw data of a plain reply from its 16-byte aligned start: SFCO, then the payload.
fn reply_raw(words: &[u32]) -> &[u32] {
    let has_special = words[1] & (1 << 31) != 0;
    let mut idx = 2;
    if has_special {
        let s = words[2];
        idx += 1 + (if s & 1 != 0 { 2 } else { 0 }) + ((s >> 1) & 0xf) as usize + ((s >> 5) & 0xf) as usize;
    }
    idx += 2 * ((words[0] >> 16) & 0xf) as usize;
    let aligned = (4 * idx).next_multiple_of(16) / 4;
    &words[aligned..]
}

/// The move handles of a reply.
fn move_handles(words: &[u32]) -> Vec<u32> {
    if words[1] & (1 << 31) == 0 {
        return Vec::new();
    }
    let s = words[2];
    let copies = ((s >> 1) & 0xf) as usize;
    let moves = ((s >> 5) & 0xf) as usize;
    let at = 3 + if s & 1 != 0 { 2 } else { 0 } + copies;
    words[at..at + moves].to_vec()
}

fn sfco_result(raw: &[u32]) -> u32 {
    assert_eq!(raw[0], cmif::OUT_HEADER_MAGIC, "SFCO at the aligned raw start");
    raw[2]
}

/// Converts `h` to a domain; returns the root's object id.
fn convert(b: &mut Bench, h: u32) -> u32 {
    let (rc, words) = b.send(h, &control(0, &[]));
    assert_eq!(rc, Some(0));
    let raw = reply_raw(&words);
    assert_eq!(sfco_result(raw), 0);
    raw[4]
}

#[test]
fn convert_to_domain_registers_the_session_object_under_id_1_and_replies_in_the_plain_form() {
    // HipcManagerImpl::ConvertCurrentObjectToDomain: a domain, one reserved id
    // (EntryManager: index + 1, from the front of the free list), the session's object
    // registered under it; control replies are never in the domain form.
    let mut b = bench();
    let h = b.connect("hletest");
    let (rc, words) = b.send(h, &control(0, &[]));
    assert_eq!(rc, Some(0));
    // Type 0, raw (0x10 + 0x10 + 4 -> 4-aligned) / 4 + 0x10 / 4 = 9 words, no handles.
    assert_eq!(&words[..2], &[0, 9]);
    assert_eq!(&words[4..9], &[cmif::OUT_HEADER_MAGIC, 0, 0, 0, 1]);
    // The root now answers through the domain header.
    let (rc, words) = b.send(h, &domain(1, 1, 0, &[], &[]));
    assert_eq!(rc, Some(0));
    assert_eq!(&words[4..13], &[0, 0, 0, 0, cmif::OUT_HEADER_MAGIC, 0, 0, 0, 1]);
}

#[test]
fn an_object_returning_command_on_a_domain_registers_the_child_in_the_same_domain_and_replies_its_id() {
    // DomainServiceObjectProcessor::SetOutObjects: the out-object gets a reserved id in the
    // same domain; PrepareForReply: domain out header (num_out_objects), SFCO, data, ids;
    // no move handle.
    let mut b = bench();
    let h = b.connect("hletest");
    assert_eq!(convert(&mut b, h), 1);
    let (rc, words) = b.send(h, &domain(1, 1, 1, &[], &[]));
    assert_eq!(rc, Some(0));
    // num_data_words = (AlignUp(0x20 + 2 + 4, 4) + 0x10) / 4 = 0xe: 2 bytes of data, then
    // the id at the next u32... the id follows the data directly (offset 0x22).
    assert_eq!(&words[..2], &[0, 0xe], "no special header: no move handle");
    assert_eq!(&words[4..12], &[1, 0, 0, 0, cmif::OUT_HEADER_MAGIC, 0, 0, 0]);
    let data: Vec<u8> = words[12..14].iter().flat_map(|w| w.to_le_bytes()).collect();
    assert_eq!(&data[..2], &[0xee, 0xff]);
    assert_eq!(u32::from_le_bytes([data[2], data[3], data[4], data[5]]), 2, "child id 2");
}

#[test]
fn a_command_on_a_domain_sub_object_reaches_that_object() {
    let mut b = bench();
    let h = b.connect("hletest");
    convert(&mut b, h);
    b.send(h, &domain(1, 1, 1, &[], &[]));
    // The child (tag 2) answers command 0 with its tag; the root still with 1.
    let (_, words) = b.send(h, &domain(1, 2, 0, &[], &[]));
    assert_eq!(&words[4..13], &[0, 0, 0, 0, cmif::OUT_HEADER_MAGIC, 0, 0, 0, 2]);
    let (_, words) = b.send(h, &domain(1, 1, 0, &[], &[]));
    assert_eq!(words[12], 1);
    // A grandchild through the child: id 3.
    let (_, words) = b.send(h, &domain(1, 2, 1, &[], &[]));
    assert_eq!(words[4], 1);
    let (_, words) = b.send(h, &domain(1, 3, 0, &[], &[]));
    assert_eq!(words[12], 3);
}

#[test]
fn domain_close_unregisters_the_object_replies_the_request_untouched_and_its_id_comes_back_first() {
    // DomainServiceObjectDispatchTable::ProcessMessageImpl, type Close: UnregisterObject,
    // success, and the request buffer goes back as the reply; EntryManager::FreeEntry puts
    // the id at the front of the free list.
    let mut b = bench();
    let h = b.connect("hletest");
    convert(&mut b, h);
    b.send(h, &domain(1, 1, 1, &[], &[])); // id 2
    b.send(h, &domain(1, 1, 1, &[], &[])); // id 3
    let close = domain(2, 2, 0, &[], &[]);
    let (rc, words) = b.send(h, &close);
    assert_eq!(rc, Some(0));
    assert_eq!(words, close, "the reply is the request, untouched");
    assert_eq!(b.log.borrow().as_slice(), ["ITestChild 2"], "the object went away");
    // Id 2 is gone: a message to it is TargetNotFound, which closes the session; so
    // check the reuse first: the next object gets 2 again, not 4.
    let (_, words) = b.send(h, &domain(1, 1, 1, &[], &[]));
    assert_eq!(words[12] >> 16 | (words[13] & 0xffff) << 16, 2);
}

#[test]
fn a_domain_message_to_an_unknown_object_id_is_target_not_found_and_closes_the_session() {
    // Domain::GetObject finds nothing -> sf::cmif::ResultTargetNotFound; the dispatch
    // failed, so ServerSessionManager::ProcessRequest closes the session: no reply, the
    // client gets SessionClosed, now and on later requests.
    let mut b = bench();
    let h = b.connect("hletest");
    convert(&mut b, h);
    let (rc, _) = b.send(h, &domain(1, 9, 0, &[], &[]));
    assert_eq!(rc, Some(kernel::SESSION_CLOSED.raw()));
    let (rc, _) = b.send(h, &domain(1, 1, 0, &[], &[]));
    assert_eq!(rc, Some(kernel::SESSION_CLOSED.raw()));
    assert!(b.k.trace.iter().any(|l| l.contains("TargetNotFound")), "{:?}", b.k.trace);
}

#[test]
fn closing_a_domain_session_with_live_objects_releases_every_object_and_frees_their_ids_in_order() {
    // Domain::~Domain: each entry (registration order) loses its object and FreeEntry puts
    // it at the free list's front, so after ids 1, 2, 3 go the next id given is 3.
    let mut b = bench();
    let h = b.connect("hletest");
    convert(&mut b, h);
    b.send(h, &domain(1, 1, 1, &[], &[]));
    b.send(h, &domain(1, 2, 1, &[], &[]));
    b.close(h);
    let mut gone = b.log.borrow().clone();
    gone.sort();
    assert_eq!(gone, ["ITestChild 2", "ITestChild 3", "ITestRoot 1"]);
    let h2 = b.connect("hletest");
    assert_eq!(convert(&mut b, h2), 3, "the last id freed comes first");
}

#[test]
fn copy_from_current_domain_gives_a_plain_session_to_the_object_which_outlives_the_domain() {
    // HipcManagerImpl::CopyFromCurrentDomain: a new session holding the domain's object
    // (shared: it stays in the domain too), its client handle moved.
    let mut b = bench();
    let h = b.connect("hletest");
    convert(&mut b, h);
    b.send(h, &domain(1, 1, 1, &[], &[])); // child, id 2
    let (rc, words) = b.send(h, &control(1, &2u32.to_le_bytes()));
    assert_eq!(rc, Some(0));
    let moved = move_handles(&words);
    assert_eq!(moved.len(), 1);
    assert_eq!(sfco_result(reply_raw(&words)), 0);
    b.close(h);
    assert_eq!(b.log.borrow().as_slice(), ["ITestRoot 1"], "the copied child lives on");
    let (rc, words) = b.send(moved[0], &request(0, &[]));
    assert_eq!(rc, Some(0));
    assert_eq!(reply_raw(&words)[4], 2, "the child answers on its own session");
    b.close(moved[0]);
    assert_eq!(b.log.borrow().as_slice(), ["ITestRoot 1", "ITestChild 2"]);
}

#[test]
fn copy_from_current_domain_on_a_plain_session_is_target_not_domain_and_an_unknown_id_domain_object_not_found() {
    // sf::hipc::ResultTargetNotDomain 0x3d60b, ResultDomainObjectNotFound 0x3d80b: error
    // replies (the session stays).
    let mut b = bench();
    let h = b.connect("hletest");
    let (rc, words) = b.send(h, &control(1, &1u32.to_le_bytes()));
    assert_eq!(rc, Some(0));
    assert_eq!(sfco_result(reply_raw(&words)), 0x3d60b);
    convert(&mut b, h);
    let (_, words) = b.send(h, &control(1, &7u32.to_le_bytes()));
    assert_eq!(sfco_result(reply_raw(&words)), 0x3d80b);
    let (rc, _) = b.send(h, &domain(1, 1, 0, &[], &[]));
    assert_eq!(rc, Some(0));
}

#[test]
fn an_object_returning_command_on_a_plain_session_moves_a_new_session() {
    // SetOutObjectImpl on a non-domain session: a new session to the object, its client
    // handle in the reply's move handles.
    let mut b = bench();
    let h = b.connect("hletest");
    let (rc, words) = b.send(h, &request(1, &[]));
    assert_eq!(rc, Some(0));
    let moved = move_handles(&words);
    assert_eq!(moved.len(), 1);
    let raw = reply_raw(&words);
    assert_eq!(sfco_result(raw), 0);
    assert_eq!(raw[4] & 0xffff, 0xffee);
    let (_, words) = b.send(moved[0], &request(0, &[]));
    assert_eq!(reply_raw(&words)[4], 2);
    // Closing the parent leaves the child.
    b.close(h);
    assert_eq!(b.log.borrow().as_slice(), ["ITestRoot 1"]);
    let (rc, _) = b.send(moved[0], &request(0, &[]));
    assert_eq!(rc, Some(0));
}

#[test]
fn query_pointer_buffer_size_answers_the_service_s_pointer_buffer_on_plain_and_domain_sessions() {
    // HipcManagerImpl::QueryPointerBufferSize: the session's pointer buffer size, a u16.
    let mut b = bench();
    let h = b.connect("hletest");
    let (_, words) = b.send(h, &control(3, &[]));
    assert_eq!(reply_raw(&words)[4] & 0xffff, 0x400);
    convert(&mut b, h);
    let (_, words) = b.send(h, &control(3, &[]));
    assert_eq!(reply_raw(&words)[4] & 0xffff, 0x400);
    let f = b.connect("fsp-srv");
    let (_, words) = b.send(f, &control(3, &[]));
    assert_eq!(reply_raw(&words)[4] & 0xffff, 0x800);
}

#[test]
fn an_unknown_control_command_closes_the_session() {
    // IHipcManager has 0-4: anything else is UnknownCommandId, and the session closes.
    let mut b = bench();
    let h = b.connect("hletest");
    let (rc, _) = b.send(h, &control(5, &[]));
    assert_eq!(rc, Some(kernel::SESSION_CLOSED.raw()));
}

#[test]
fn a_hipc_close_closes_the_session_without_a_reply() {
    // ServerSessionManager::ProcessRequest, CmifCommandType_Close: CloseSessionImpl.
    let mut b = bench();
    let h = b.connect("hletest");
    let mut close = [0u32; WORDS];
    cmif::build_close(&mut close).expect("close");
    let (rc, words) = b.send(h, &close);
    assert_eq!(rc, Some(kernel::SESSION_CLOSED.raw()));
    assert_eq!(words, close.to_vec());
    assert_eq!(b.log.borrow().as_slice(), ["ITestRoot 1"]);
}

#[test]
fn an_unknown_command_stops_the_run_naming_service_interface_command_and_caller() {
    let mut b = bench();
    let h = b.connect("hletest");
    let (rc, _) = b.send(h, &request(77, &[]));
    assert_eq!(rc, None, "never a silent success: the caller stays blocked");
    let report = b.k.hle.stop.clone().expect("the run stops");
    for part in ["hletest", "ITestRoot", "command 77", "client/thread#0", "0x51"] {
        assert!(report.contains(part), "{part} in {report}");
    }
    let config = xcbuf_emu::run::RunConfig::default();
    let end = xcbuf_emu::run::schedule(&mut b.k, &[b.p], &config, Instant::now());
    let RunEnd::HleStopped { report: r, threads } = end else { panic!("{end:?}") };
    assert_eq!(r, report);
    assert!(threads.iter().any(|t| t.contains("command 77")), "{threads:?}");
}

#[test]
fn an_unknown_fsp_command_stops_the_run_too() {
    let mut b = bench();
    let f = b.connect("fsp-srv");
    let (rc, _) = b.send(f, &request(99, &[]));
    assert_eq!(rc, None);
    let report = b.k.hle.stop.clone().expect("the run stops");
    assert!(report.contains("fsp-srv: IFileSystemProxy command 99"), "{report}");
}

#[test]
fn a_deferred_hle_request_blocks_the_caller_and_the_report_names_it() {
    let mut b = bench();
    let h = b.connect("hletest");
    let (rc, _) = b.send(h, &request(3, &[]));
    assert_eq!(rc, None);
    let ThreadState::Waiting(w) = &b.k.threads[b.t].state else { panic!("not waiting") };
    assert!(w.svc_name().contains("hletest: waiting for the test"), "{}", w.svc_name());
    assert!(b.k.hle.stop.is_none());
}

#[test]
fn a_reply_x_lands_in_the_client_s_c_buffer_with_its_descriptor_and_too_large_is_out_of_resource() {
    // The kernel copies a reply's X descriptor into the receive-list entry of its index
    // (mesosphere ReceiveList::GetBuffer) and rewrites the descriptor's address to it; an
    // X larger than the entry fails the copy: the client gets OutOfResource 0xce01.
    let mut b = bench();
    let h = b.connect("hletest");
    let c = ReceiveListEntry::new(DATA + 0x100, 0x20).expect("C");
    let out = [OutPointer { entry: c, has_size_entry: false }];
    let mut words = [0u32; WORDS];
    let spec =
        RequestSpec { command_id: 2, payload: &16u32.to_le_bytes(), out_pointers: &out, ..RequestSpec::default() };
    cmif::build_request(&mut words, &spec).expect("request");
    let (rc, reply) = b.send(h, &words);
    assert_eq!(rc, Some(0));
    // One X: index 0, address of C[0], 16 bytes.
    assert_eq!(reply[0] >> 16 & 0xf, 1);
    let d = PointerDescriptor::decode([reply[2], reply[3]]);
    assert_eq!((d.index(), d.address(), d.size()), (0, DATA + 0x100, 16));
    let mut bytes = [0u8; 0x20];
    b.k.processes[b.p].cpu.read(DATA + 0x100, &mut bytes).expect("read");
    assert_eq!(&bytes[..16], &[0xab; 16]);
    assert_eq!(&bytes[16..], &[0; 16]);
    let spec = RequestSpec { payload: &0x21u32.to_le_bytes(), ..spec };
    cmif::build_request(&mut words, &spec).expect("request");
    let (rc, _) = b.send(h, &words);
    assert_eq!(rc, Some(kernel::OUT_OF_RESOURCE.raw()));
}

#[test]
fn fsp_on_a_domain_hands_out_its_file_system_as_an_object_id() {
    // fsp-srv's commands through the framework's domain path: OpenSdCardFileSystem (18)
    // on the root id, CreateDirectory (2) with the path X on the new id.
    let mut b = bench();
    let f = b.connect("fsp-srv");
    assert_eq!(convert(&mut b, f), 1);
    let (_, words) = b.send(f, &domain(1, 1, 18, &[], &[]));
    assert_eq!(&words[4..9], &[1, 0, 0, 0, cmif::OUT_HEADER_MAGIC]);
    assert_eq!(words[10], 0, "success");
    let fs = words[12];
    assert_eq!(fs, 2);
    let mut path = vec![0u8; 0x301];
    path[..6].copy_from_slice(b"/hello");
    b.k.processes[b.p].cpu.write(DATA, &path).expect("path");
    let x = PointerDescriptor::new(0, DATA, 0x301).expect("X");
    let (rc, words) = b.send(f, &domain(1, fs, 2, &[], &[x]));
    assert_eq!(rc, Some(0));
    let raw = reply_raw(&words);
    assert_eq!(raw[6], 0, "CreateDirectory succeeded");
    assert!(b.k.hle.shared.sd_card.directories.contains("/hello"));
    // A second time: PathAlreadyExists 0x402, in the domain error form.
    let (_, words) = b.send(f, &domain(1, fs, 2, &[], &[x]));
    assert_eq!(&reply_raw(&words)[..8], &[0, 0, 0, 0, cmif::OUT_HEADER_MAGIC, 0, 0x402, 0]);
}

#[test]
fn get_service_handle_of_an_unregistered_name_stays_deferred_and_the_report_names_the_service() {
    // Atmosphère sm GetServiceHandle: a name not registered is deferred (the caller stays
    // blocked); the deadlock report says which name.
    let mut b = bench();
    let name = b"sm:\0\0\0\0\0";
    b.k.processes[b.p].cpu.write(DATA, name).expect("name");
    b.k.processes[b.p].cpu.set_x(1, DATA).expect("x1");
    assert!(matches!(b.k.handle_svc(b.t, SVC_CONNECT_TO_NAMED_PORT), SvcFlow::Continue));
    assert_eq!(b.k.processes[b.p].cpu.x(0), 0);
    let sm = b.k.processes[b.p].cpu.x(1) as u32;
    // RegisterClient (TIPC 16, send-pid), then GetServiceHandle (TIPC 17, name).
    let (rc, _) = b.send(sm, &[16, 1 << 31, 1, 0, 0]);
    assert_eq!(rc, Some(0));
    // pl:u (shared fonts): a service the bench does not serve (set:sys now is one).
    let unknown = u64::from_le_bytes(*b"pl:u\0\0\0\0");
    let (rc, _) = b.send(sm, &[17, 2, unknown as u32, (unknown >> 32) as u32]);
    assert_eq!(rc, None);
    let ThreadState::Waiting(w @ Wait::SmDeferred { .. }) = &b.k.threads[b.t].state else { panic!("not deferred") };
    assert!(
        w.svc_name().contains("GetServiceHandle(\"pl:u\") deferred: no such service registered"),
        "{}",
        w.svc_name()
    );
    assert!(matches!(b.k.resolve(b.p, b.t, sm), Some(KObjectRef::ClientSession(_))));
    // Nothing else can run: the run ends in a deadlock whose report names the service.
    let end = xcbuf_emu::run::schedule(&mut b.k, &[b.p], &xcbuf_emu::run::RunConfig::default(), Instant::now());
    let RunEnd::Deadlock { threads } = end else { panic!("{end:?}") };
    assert!(threads.iter().any(|t| t.contains("GetServiceHandle(\"pl:u\") deferred: no such service registered")));
}
