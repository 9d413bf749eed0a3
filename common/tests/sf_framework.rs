//! The framework's own rules, with a service that is not xcbuf: the row drives the checks,
//! out-pointers are carved on demand in any number the row declares, the reply carries the
//! X in push order, the session table keeps each session's handle.

mod server_support;

use server_support::{CLIENT_BASE, RoundTrip};
use xcbuf_common::client::{self, Buffer, Call};
use xcbuf_common::cmif::CommandType;
use xcbuf_common::result::{ResultCode, hipc};
use xcbuf_common::sf::command::{self, CommandMeta};
use xcbuf_common::sf::{self, RawData, ServiceHandler};
use xcbuf_common::xcbuf::{self, EchoResponse};

const BASE: u64 = 0x2_0000_0000;

/// A service with one command that splits X[0] into three out-pointers.
struct Thirds {
    calls: u32,
}

impl ServiceHandler for Thirds {
    const COMMANDS: &'static [CommandMeta<Thirds>] = &[CommandMeta {
        id: 7,
        name: "Thirds",
        in_x: (1, 1),
        out_c: 3,
        in_raw: 0,
        out_raw: EchoResponse::SIZE,
        reply_x: 3,
        handler: thirds,
    }];
}

fn thirds(state: &mut Thirds, call: &mut sf::Call<'_>) -> Result<(), ResultCode> {
    state.calls += 1;
    let x = call.in_pointer(0).ok_or(hipc::INVALID_CMIF_REQUEST)?;
    let third = x.len() / 3;
    let mut total = 0;
    for k in 0..3 {
        let out = call.out_pointer(k)?;
        let part = x.bytes.get(k * third..).unwrap_or(&[]);
        let n = call.write_out(&out, 0, part.get(..third).unwrap_or(part))?;
        call.reply_out(&out, n)?;
        total += n;
    }
    call.set_out_raw(&EchoResponse { bytes_written: total as u32 })
}

fn thirds_request(b: &mut RoundTrip<Thirds>, outputs: usize) {
    b.client.write(CLIENT_BASE, b"aaabbbccc");
    let x = [Buffer::new(CLIENT_BASE, 9)];
    let c: Vec<Buffer> = (0..outputs).map(|k| Buffer::new(CLIENT_BASE + 0x100 + 0x10 * k as u64, 3)).collect();
    let call = Call {
        command_type: CommandType::Request,
        command_id: 7,
        inputs: &x,
        outputs: &c,
        args: &[],
        receive_list_mode: None,
    };
    client::build_request(&mut b.client_tls, &call).unwrap();
}

#[test]
fn a_third_out_pointer_is_carved_and_replied_like_the_first_two() {
    let mut b = RoundTrip::with_handler(Thirds { calls: 0 }, xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    thirds_request(&mut b, 3);
    let handled = b.call(slot).unwrap();
    assert!(handled.result.is_success(), "{}", handled.result);
    assert_eq!(b.server.handler().calls, 1);
    let xs = b.server_reply_pointers();
    assert_eq!(xs.iter().map(|x| (x.index(), x.size())).collect::<Vec<_>>(), [(0, 3), (1, 3), (2, 3)]);
    // Carved from the top, each below the previous one at a 16-byte-aligned address.
    let top = BASE + 0x800;
    assert_eq!(xs.iter().map(|x| x.address()).collect::<Vec<_>>(), [top - 0x10, top - 0x20, top - 0x30]);
    assert_eq!(b.client.read(CLIENT_BASE + 0x100, 3), b"aaa");
    assert_eq!(b.client.read(CLIENT_BASE + 0x110, 3), b"bbb");
    assert_eq!(b.client.read(CLIENT_BASE + 0x120, 3), b"ccc");
    let reply = client::parse_reply(&b.client_tls).unwrap();
    assert_eq!(reply.read::<EchoResponse>().unwrap().bytes_written, 9);
}

#[test]
fn a_size_table_shorter_than_the_row_is_refused_before_the_handler_runs() {
    let mut b = RoundTrip::with_handler(Thirds { calls: 0 }, xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    // Two size-table entries where the row says three: row 9, InvalidCmifRequest.
    thirds_request(&mut b, 2);
    let handled = b.call(slot).unwrap();
    assert_eq!(handled.result, hipc::INVALID_CMIF_REQUEST);
    assert_eq!(b.server.handler().calls, 0, "the handler never ran");
}

#[test]
fn limits_are_computed_from_the_table() {
    assert_eq!(command::max_out_c(Thirds::COMMANDS), 3);
    assert_eq!(command::max_reply_x(Thirds::COMMANDS), 3);
    // Error reply (10 words), QueryPointerBufferSize (11) and 3 X + 4 bytes (2 + 6 + 9 = 17).
    assert_eq!(command::largest_reply_words(Thirds::COMMANDS), 17);
    assert!(command::table_fits(Thirds::COMMANDS));
}

#[test]
fn the_session_table_keeps_each_sessions_handle_by_slot() {
    let mut server = sf::Server::new(xcbuf::Xcbuf, xcbuf::SINGLE.config(BASE)).unwrap();
    assert_eq!(server.open_session(0x201), Ok(0));
    assert_eq!(server.open_session(0x202), Ok(1));
    assert_eq!(server.sessions().handle(1), Some(0x202));
    assert_eq!(server.sessions().slot_of(0x201), Some(0));
    assert_eq!(server.sessions().iter_open().collect::<Vec<_>>(), [(0, 0x201), (1, 0x202)]);
    // Closing gives the handle back (for the transport to close) and frees the slot.
    assert_eq!(server.close_session(0), Ok(0x201));
    assert_eq!(server.sessions().slot_of(0x201), None);
    assert_eq!(server.close_session(0), Err(sf::SESSION_NOT_OPEN));
    assert_eq!(server.open_session(0x203), Ok(0));
}

/// Eight bytes of raw out-data.
#[derive(Debug, PartialEq, Eq)]
struct Eight {
    a: u32,
    b: u32,
}

impl RawData for Eight {
    const SIZE: usize = 8;
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        sf::raw::le::put_u32(out, 0, self.a)?;
        sf::raw::le::put_u32(out, 4, self.b)
    }
    fn read_from(bytes: &[u8]) -> Result<Self, ResultCode> {
        Ok(Eight { a: sf::raw::le::u32(bytes, 0)?, b: sf::raw::le::u32(bytes, 4)? })
    }
}

/// A command with 8 bytes of out-data: the first call sets all 8, the second only the
/// first 4 (a 4-byte struct), the third none.
struct Partial {
    calls: u32,
}

impl ServiceHandler for Partial {
    const COMMANDS: &'static [CommandMeta<Partial>] = &[CommandMeta {
        id: 0,
        name: "Partial",
        in_x: (0, 0),
        out_c: 0,
        in_raw: 0,
        out_raw: Eight::SIZE,
        reply_x: 0,
        handler: partial,
    }];
}

fn partial(state: &mut Partial, call: &mut sf::Call<'_>) -> Result<(), ResultCode> {
    state.calls += 1;
    match state.calls {
        1 => call.set_out_raw(&Eight { a: 0xAAAA_AAAA, b: 0xBBBB_BBBB }),
        2 => call.set_out_raw(&EchoResponse { bytes_written: 0x1111_1111 }),
        _ => Ok(()),
    }
}

#[test]
fn out_data_a_handler_does_not_set_is_zero_even_after_an_earlier_reply_set_it() {
    // The server reuses its staged reply from request to request: the bytes of the row's
    // out-data this request did not set must go out as 0, not as the previous reply's.
    let mut b = RoundTrip::with_handler(Partial { calls: 0 }, xcbuf::SINGLE.config(BASE));
    let slot = b.server.open_session(0x201).unwrap();
    let mut replies = Vec::new();
    for _ in 0..3 {
        let call = Call {
            command_type: CommandType::Request,
            command_id: 0,
            inputs: &[],
            outputs: &[],
            args: &[],
            receive_list_mode: None,
        };
        client::build_request(&mut b.client_tls, &call).unwrap();
        let handled = b.call(slot).unwrap();
        assert!(handled.result.is_success(), "{}", handled.result);
        replies.push(client::parse_reply(&b.client_tls).unwrap().read::<Eight>().unwrap());
    }
    assert_eq!(
        replies,
        [Eight { a: 0xAAAA_AAAA, b: 0xBBBB_BBBB }, Eight { a: 0x1111_1111, b: 0 }, Eight { a: 0, b: 0 }]
    );
}
