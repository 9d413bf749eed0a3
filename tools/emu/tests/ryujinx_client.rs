//! The ryujinx profile catches what the client used to do: the real sysmodule (same server
//! core as the client's in-process server), driven by a host client under `--kernel
//! ryujinx`, gets a request the kernel rejects and then an ordinary request with an X.
//! On Ryujinx the second fails with 0xce01 unless a request without X (GetInfo) comes
//! between: Ryujinx's `KServerSession.Receive` leaves the rejected request's header in the
//! server's buffer, and the server's next receive uses its word 1 as the receive list
//! (horizon-ipc.md §10). On Horizon the second passes either way. The client now sends
//! that GetInfo after every rejected request (`client-nro/src/scenarios/mod.rs`
//! `Ctx::call_on`). The tests need `make dist`'s output: a plain `cargo test` lists them
//! as ignored, `make test` runs them ([`xcbuf_pack::built`]).

use xcbuf_common::client::{self, Buffer};
use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_common::xcbuf::{EchoResponse, INDEXED, INDEXED_ENTRIES, POINTER_BUFFER_SIZE, SINGLE};
use xcbuf_emu::host_client::{HIGH_BUFFERS, HostBench, HostClient, LOW_BUFFERS, MESSAGE_WORDS};
use xcbuf_emu::kernel::profile::KernelProfile;
use xcbuf_emu::run::RunConfig;
use xcbuf_pack::built;

fn start(kernel: KernelProfile) -> (HostBench, HostClient) {
    let nsp = built::sysmodule_nsp();
    let mut bench =
        HostBench::start_sysmodule(&nsp, RunConfig { kernel, ..RunConfig::default() }).expect("the sysmodule starts");
    let client = HostClient::new(&mut bench, "old-client").expect("host client");
    (bench, client)
}

fn pattern(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

/// Sends the message `build` writes; returns svcSendSyncRequest's result and the reply.
fn send(
    bench: &mut HostBench,
    c: &mut HostClient,
    session: u32,
    build: impl FnOnce(&mut [u32]) -> Result<usize, client::ClientError>,
) -> (ResultCode, [u32; MESSAGE_WORDS]) {
    let mut msg = [0u32; MESSAGE_WORDS];
    build(&mut msg).expect("request builds");
    let answer = c.send(bench, session, &msg).expect("answered");
    (answer.svc_result, answer.words)
}

/// Echo of `len` bytes (X from the high buffers, C in the low ones): the kernel's result,
/// and whether the bytes came back whole.
fn echo(bench: &mut HostBench, c: &mut HostClient, session: u32, len: usize, seed: u8) -> ResultCode {
    let input = pattern(seed, len);
    c.write(bench, HIGH_BUFFERS, &input).expect("write input");
    c.write(bench, LOW_BUFFERS, &vec![0; len]).expect("clear output");
    let (rc, words) = send(bench, c, session, |m| {
        client::build_echo(m, Buffer::new(HIGH_BUFFERS, len), Buffer::new(LOW_BUFFERS, len))
    });
    if rc.is_success() {
        let reply = client::parse_reply(&words).expect("an Echo reply");
        let resp: EchoResponse = reply.read().expect("Echo response");
        assert_eq!(resp.bytes_written as usize, len);
        assert_eq!(c.read(bench, LOW_BUFFERS, len).expect("read output"), input, "the echoed bytes");
    }
    rc
}

fn get_info(bench: &mut HostBench, c: &mut HostClient, session: u32) {
    let (rc, words) = send(bench, c, session, client::build_get_info);
    assert_eq!(rc, ResultCode::SUCCESS);
    client::parse_reply(&words).expect("a GetInfo reply");
}

/// echo-overflow as the client did it: Echo one byte larger than the pointer buffer
/// (0xce01), then Echo 16 bytes at once; returns the second's result.
fn old_echo_overflow(kernel: KernelProfile, get_info_between: bool) -> ResultCode {
    let (mut bench, mut c) = start(kernel);
    let session = c.connect(&mut bench, SINGLE.name).expect("connect");
    assert_eq!(echo(&mut bench, &mut c, session, 16, 1), ResultCode::SUCCESS, "a first Echo works");
    assert_eq!(echo(&mut bench, &mut c, session, POINTER_BUFFER_SIZE + 1, 2), kernel::OUT_OF_RESOURCE);
    if get_info_between {
        get_info(&mut bench, &mut c, session);
    }
    echo(&mut bench, &mut c, session, 16, 3)
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn ryujinx_an_x_request_right_after_a_rejected_one_fails_with_out_of_resource() {
    let rc = old_echo_overflow(KernelProfile::Ryujinx, false);
    assert_eq!(rc, kernel::OUT_OF_RESOURCE, "the old client's follow-up Echo fails on Ryujinx");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn ryujinx_a_request_without_x_after_the_rejected_one_re_arms_the_servers_list() {
    let rc = old_echo_overflow(KernelProfile::Ryujinx, true);
    assert_eq!(rc, ResultCode::SUCCESS);
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn horizon_an_x_request_right_after_a_rejected_one_works() {
    let rc = old_echo_overflow(KernelProfile::Horizon, false);
    assert_eq!(rc, ResultCode::SUCCESS);
}

/// indexed-mode as the client did it: a Concat with an X index past the last entry
/// (0xce01), then a Concat that fits every entry exactly; returns the second's result.
fn old_indexed_mode(kernel: KernelProfile, get_info_between: bool) -> ResultCode {
    let (mut bench, mut c) = start(kernel);
    let session = c.connect(&mut bench, INDEXED.name).expect("connect");
    let entries = INDEXED_ENTRIES.len();
    let fits: Vec<Buffer> = INDEXED_ENTRIES
        .iter()
        .enumerate()
        .map(|(k, e)| Buffer::new(HIGH_BUFFERS + 0x1000 * k as u64, e.size))
        .collect();
    let mut past = fits.clone();
    past.push(Buffer::new(HIGH_BUFFERS, 0x10));
    let out = Buffer::new(LOW_BUFFERS, 0x1000);
    let (rc, _) = send(&mut bench, &mut c, session, |m| client::build_concat(m, &past, out));
    assert_eq!(rc, kernel::OUT_OF_RESOURCE, "X index {entries} has no entry");
    if get_info_between {
        get_info(&mut bench, &mut c, session);
    }
    let (rc, _) = send(&mut bench, &mut c, session, |m| client::build_concat(m, &fits, out));
    rc
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn ryujinx_after_a_rejected_indexed_request_a_request_that_fits_every_entry_fails_too() {
    // So the old indexed-mode's second 0xce01 (one byte more than the last entry) came
    // from the broken list, not from the entry's size.
    let rc = old_indexed_mode(KernelProfile::Ryujinx, false);
    assert_eq!(rc, kernel::OUT_OF_RESOURCE);
    let rc = old_indexed_mode(KernelProfile::Ryujinx, true);
    assert_eq!(rc, ResultCode::SUCCESS, "with a GetInfo between, the entries are armed again");
    let rc = old_indexed_mode(KernelProfile::Horizon, false);
    assert_eq!(rc, ResultCode::SUCCESS);
}
