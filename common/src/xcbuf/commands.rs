//! The xcbuf commands: one row of [`COMMANDS`] and one function each. The rows drive the
//! framework's checks (rows 7–10 of the table in [`super::protocol`]); each function does
//! the command's own work and its own checks (rows 11–12). Adding a command is one row
//! here plus one function.
#![forbid(unsafe_code)]

use static_assertions::const_assert;

use crate::result::ResultCode;
use crate::sf::command::{self, CommandMeta};
use crate::sf::{Call, RECEIVE_LIST_OFFSET, RawData, ServiceHandler};

use super::protocol::{
    BAD_SPLIT_POINT, Command, ConcatResponse, EchoResponse, GetInfoResponse, INVALID_CMIF_REQUEST, MAX_CONCAT_POINTERS,
    PROTOCOL_VERSION, SplitRequest, SplitResponse, StatsResponse,
};

/// The xcbuf service (both `xcbuf` and `xcbuf:i` run it); it keeps no state of its own:
/// Stats reports the framework's counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Xcbuf;

impl ServiceHandler for Xcbuf {
    const COMMANDS: &'static [CommandMeta<Xcbuf>] = &COMMANDS;
}

/// The commands, in id order.
pub const COMMANDS: [CommandMeta<Xcbuf>; 5] = [
    CommandMeta {
        id: Command::GetInfo.id(),
        name: "GetInfo",
        in_x: (0, 0),
        out_c: 0,
        in_raw: 0,
        out_raw: GetInfoResponse::SIZE,
        reply_x: 0,
        handler: get_info,
    },
    CommandMeta {
        id: Command::Echo.id(),
        name: "Echo",
        in_x: (1, 1),
        out_c: 1,
        in_raw: 0,
        out_raw: EchoResponse::SIZE,
        reply_x: 1,
        handler: echo,
    },
    CommandMeta {
        id: Command::Concat.id(),
        name: "Concat",
        in_x: (1, MAX_CONCAT_POINTERS),
        out_c: 1,
        in_raw: 0,
        out_raw: ConcatResponse::SIZE,
        reply_x: 1,
        handler: concat,
    },
    CommandMeta {
        id: Command::Split.id(),
        name: "Split",
        in_x: (1, 1),
        out_c: 2,
        in_raw: SplitRequest::SIZE,
        out_raw: SplitResponse::SIZE,
        reply_x: 2,
        handler: split,
    },
    CommandMeta {
        id: Command::Stats.id(),
        name: "Stats",
        in_x: (0, 0),
        out_c: 0,
        in_raw: 0,
        out_raw: StatsResponse::SIZE,
        reply_x: 0,
        handler: stats,
    },
];

/// Most X a request of any command carries (Concat's 8).
pub const MAX_IN_X: usize = command::max_in_x(&COMMANDS);
/// Most out-pointers of any command (Split's 2).
pub const MAX_OUT_POINTERS: usize = command::max_out_c(&COMMANDS);
/// Most X of any successful reply (Split's 2).
pub const MAX_REPLY_POINTERS: usize = command::max_reply_x(&COMMANDS);
/// Largest raw out-data of any reply (Stats's 48 bytes).
pub const MAX_OUT_DATA: usize = command::max_out_raw(&COMMANDS);
/// Words of the longest reply the server writes (over every command, the control
/// command and the error reply).
pub const LARGEST_REPLY_WORDS: usize = command::largest_reply_words(&COMMANDS);

// The one-svc-per-request rule (emulator-bench.md §2): every reply ends at or before the
// receive list; and the whole table fits the framework (also checked by Server::new).
const_assert!(LARGEST_REPLY_WORDS <= RECEIVE_LIST_OFFSET);
const_assert!(command::table_fits(&COMMANDS));
// Concat reports one offset per X it takes.
const_assert!(MAX_IN_X == MAX_CONCAT_POINTERS);

fn to_u32(n: usize) -> Result<u32, ResultCode> {
    u32::try_from(n).map_err(|_| INVALID_CMIF_REQUEST)
}

/// GetInfo: protocol version, pointer-buffer size, receive mode, session limit.
fn get_info(_: &mut Xcbuf, call: &mut Call<'_>) -> Result<(), ResultCode> {
    let status = call.status();
    call.set_out_raw(&GetInfoResponse {
        version: PROTOCOL_VERSION,
        pointer_buffer_size: u32::try_from(status.pointer_buffer_size).unwrap_or(u32::MAX),
        receive_mode: status.receive_mode_raw,
        max_sessions: u32::try_from(status.session_limit).unwrap_or(u32::MAX),
    })
}

/// Echo: X\[0\] back to C\[0\], straight from where the kernel put it: no carve, so an X
/// of the whole pointer buffer can be echoed.
#[inline(always)]
fn echo(_: &mut Xcbuf, call: &mut Call<'_>) -> Result<(), ResultCode> {
    let x = call.in_pointer(0).ok_or(INVALID_CMIF_REQUEST)?;
    let written = x.len().min(call.out_size(0)?);
    call.set_out_raw(&EchoResponse { bytes_written: to_u32(written)? })?;
    call.reply_in_place(0, &x, written)
}

/// Concat: every X, in descriptor order, into C\[0\] (as much as fits), with the offset
/// each non-empty X had in the pointer buffer.
fn concat(_: &mut Xcbuf, call: &mut Call<'_>) -> Result<(), ResultCode> {
    let out = call.out_pointer(0)?;
    let mut resp = ConcatResponse::default();
    let written = call.gather(&out, &mut resp.offsets)?;
    resp.bytes_written = to_u32(written)?;
    call.set_out_raw(&resp)?;
    call.reply_out(&out, written)
}

/// Split: X\[0\] at `at` into C\[0\] (head) and C\[1\] (tail); `at` past the end of X\[0\]
/// is BadSplitPoint, checked before anything is carved.
fn split(_: &mut Xcbuf, call: &mut Call<'_>) -> Result<(), ResultCode> {
    let x = call.in_pointer(0).ok_or(INVALID_CMIF_REQUEST)?;
    let at = usize::try_from(call.in_raw::<SplitRequest>()?.at).map_err(|_| BAD_SPLIT_POINT)?;
    if at > x.len() {
        return Err(BAD_SPLIT_POINT);
    }
    let head_out = call.out_pointer(0)?;
    let tail_out = call.out_pointer(1)?;
    let head = call.write_out(&head_out, 0, x.bytes.get(..at).unwrap_or(&[]))?;
    let tail = call.write_out(&tail_out, 0, x.bytes.get(at..).unwrap_or(&[]))?;
    call.set_out_raw(&SplitResponse { head_written: to_u32(head)?, tail_written: to_u32(tail)? })?;
    // design.md: Split's reply X descriptors are written index 1 first.
    call.reply_out(&tail_out, tail)?;
    call.reply_out(&head_out, head)
}

/// Stats: the service's counters, this request included.
fn stats(_: &mut Xcbuf, call: &mut Call<'_>) -> Result<(), ResultCode> {
    let s = call.status();
    call.set_out_raw(&StatsResponse {
        requests: s.counters.requests,
        bytes_in: s.counters.bytes_in,
        bytes_out: s.counters.bytes_out,
        open_sessions: s.open_sessions,
        total_sessions: s.total_sessions,
        errors: s.counters.errors,
        pointer_buffer_high_water: u32::try_from(s.counters.pointer_buffer_high_water).unwrap_or(u32::MAX),
        reserved: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sf::reply_raw_words;

    #[test]
    fn largest_reply_is_stats_and_ends_before_the_receive_list() {
        // Stats: 48 bytes out + 16 SFCO = 64, +16 padding = 80 bytes = 20 raw words,
        // 2 header words, no X: 22 words.
        assert_eq!(reply_raw_words(StatsResponse::SIZE), 20);
        assert_eq!(LARGEST_REPLY_WORDS, 22);
        // QueryPointerBufferSize reply: 9 raw words (horizon-ipc.md §5.2).
        assert_eq!(reply_raw_words(2), 9);
    }

    #[test]
    fn limits_are_computed_from_the_rows() {
        assert_eq!((MAX_IN_X, MAX_OUT_POINTERS, MAX_REPLY_POINTERS, MAX_OUT_DATA), (8, 2, 2, 48));
        // The rows of the client's command ids come first, in id order.
        assert!(COMMANDS.iter().zip(Command::ALL).all(|(row, c)| row.id == c.id()));
    }

    #[test]
    fn a_table_that_does_not_fit_is_refused() {
        fn noop(_: &mut Xcbuf, _: &mut Call<'_>) -> Result<(), ResultCode> {
            Ok(())
        }
        let row = |id, reply_x, out_raw| CommandMeta::<Xcbuf> {
            id,
            name: "t",
            in_x: (0, 0),
            out_c: 0,
            in_raw: 0,
            out_raw,
            reply_x,
            handler: noop,
        };
        assert!(command::table_fits(&[row(0, 2, 48), row(1, 3, 8)]));
        // Two rows with one id.
        assert!(!command::table_fits(&[row(0, 0, 0), row(0, 1, 0)]));
        // A reply that would run into the receive list: 12 X.
        assert!(!command::table_fits(&[row(0, 12, 0)]));
        // Out-data past the receive list.
        assert!(!command::table_fits(&[row(0, 0, 89)]));
    }

    #[test]
    fn a_table_of_more_rows_than_the_dispatcher_walks_is_refused() {
        fn noop(_: &mut Xcbuf, _: &mut Call<'_>) -> Result<(), ResultCode> {
            Ok(())
        }
        let rows: [CommandMeta<Xcbuf>; command::MAX_ROWS + 1] = core::array::from_fn(|i| CommandMeta {
            id: i as u32,
            name: "t",
            in_x: (0, 0),
            out_c: 0,
            in_raw: 0,
            out_raw: 0,
            reply_x: 0,
            handler: noop,
        });
        assert!(command::table_fits(&rows[..command::MAX_ROWS]));
        assert!(!command::table_fits(&rows));
        // The dispatcher's compile-time walk finds every row of a full table, and no more.
        assert_eq!(command::nth_row(&COMMANDS, 4).map(|r| r.id), Some(Command::Stats.id()));
        assert!(command::nth_row(&COMMANDS, COMMANDS.len()).is_none());
    }
}
