//! Ryujinx's message copy (`--kernel ryujinx`): `KServerSession.Receive` (request, client
//! → server) and `KServerSession.Reply` (reply, server → client) of
//! `src/Ryujinx.HLE/HOS/Kernel/Ipc/KServerSession.cs`, as plain Rust over the same
//! [`MessageMemory`] and [`HandleTranslator`] as the Horizon copy of the parent module.
//!
//! On success both copies put the same bytes in the same places as mesosphere's
//! (horizon-ipc.md §10 "Ryujinx's kernel": receive-list modes, 16-byte packing, index
//! checks are reimplemented by the same rules), so the descriptor, X and raw-data steps
//! reuse the parent's `MessageCopy`. What differs is **what happens on failure**; each
//! difference below names the Ryujinx method it follows:
//!
//! **Receive** ([`receive_message`]):
//! - Only the *client's* header is checked (its receive list fits its buffer, the list
//!   offset is not inside the message, the message fits): a failure there wakes the
//!   client with **success** (its buffer untouched) and the server's svc returns the
//!   error (InvalidCombination 0xe801, CmdBufferTooSmall 0x20801) with the session's
//!   index ([`ServerResult::Return`]). The server's own header is never validated.
//! - The server's receive list is read from the server's buffer as it is at that moment,
//!   at the offset its word 1 gives (offset 0: after the message those header words
//!   describe); nothing checks the offset.
//! - The client's header words 0–1 are written into the server's buffer before the
//!   special data; a request with move handles then fails with InvalidCombination to the
//!   server (client success), after those words were written.
//! - A failing copy handle, X, A/B/W or raw-data copy wakes the client with the error and
//!   returns NotFound, which `Syscall.cs` `ReplyAndReceive` swallows (it waits again): the
//!   server never hears of it ([`ServerResult::KeepWaiting`]). **Nothing is restored**:
//!   the client's header words stay in the server's buffer, so the server's next receive
//!   reads the client's word 1 as its own receive list (never 0x20401).
//! - The cleanup (`CleanUpForError`) closes "handles" in the *server's* buffer at the
//!   slots the *client's* header describes (`CloseAllHandles(serverMsg, clientHeader,
//!   serverProcess)`): the pid slot is zeroed and every non-zero word there is closed in
//!   the server's table and zeroed, whatever wrote it.
//! - The pid written is always the client's (no Atmosphère pass-through of 0xFFFE...).
//!
//! **X data, both ways** (`RyujinxChecks`): only the client's range is checked, and only
//! for *read* permission, also when the client's C buffer is the destination; the
//! server's range is accessed without a check (`KPageTableBase.cs`
//! `CopyDataFromOrToCurrentProcess`, reached from `Receive` through
//! `CopyDataToCurrentProcess` and from `Reply` through `CopyDataFromCurrentProcess`, both
//! with `KMemoryPermission.Read`). An unmapped server address, where Ryujinx's memory
//! write would throw, fails the request with 0xd401 in this model.
//!
//! **Reply** ([`send_message`]):
//! - The client's request header gets the same checks as on receive, then the reply's
//!   size against the client's buffer (CmdBufferTooSmall), then "no A/B/W in a reply"
//!   (InvalidCombination): each gives the client **success** (its buffer still holding its
//!   request) and the server the error (the svc writes index 0, `profile.rs`).
//! - Copy handles that fail are written as 0 and ignored; a move handle that fails makes
//!   the client's result that error, but the next non-zero X overwrites that result
//!   (`clientResult = GetReceiveListAddress(...)`).
//! - An X with no place in the client's receive list: the client gets 0xce01 and the
//!   server success, as on Horizon; cleanup closes the handles already installed in the
//!   client.
#![forbid(unsafe_code)]

use core::fmt;

use xcbuf_common::hipc::PROCESS_ID_WORDS;
use xcbuf_common::result::{ResultCode, kernel};

use super::{
    Direction, FailedStep, HandleTranslator, INVALID_HANDLE_VALUE, MessageBuffer, MessageCopy, MessageMemory,
    ParsedHeader, Side, TransferReport, UserAccess, check_buffer_does_not_wrap, read_header, read_words,
    snapshot_receive_list, words_to_bytes, write_words,
};
use xcbuf_common::hipc::ReceiveListMode;

/// Guest memory with Ryujinx's permission checks for X data (module doc): the client's
/// range must be user-readable whichever way the bytes go; the server's is not checked.
struct RyujinxChecks<'m, M: MessageMemory>(&'m mut M);

impl<M: MessageMemory> MessageMemory for RyujinxChecks<'_, M> {
    fn read(&mut self, side: Side, address: u64, out: &mut [u8]) -> Result<(), ResultCode> {
        self.0.read(side, address, out)
    }

    fn write(&mut self, side: Side, address: u64, data: &[u8]) -> Result<(), ResultCode> {
        self.0.write(side, address, data)
    }

    fn check_user_access(&mut self, side: Side, address: u64, size: u64, _: UserAccess) -> Result<(), ResultCode> {
        match side {
            Side::Client => self.0.check_user_access(Side::Client, address, size, UserAccess::Read),
            Side::Server => Ok(()),
        }
    }
}

/// What Ryujinx's `ReplyAndReceive` does after a failed `Receive`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ServerResult {
    /// `Receive` returned NotFound: the svc waits again, the server never sees it
    /// (`Syscall.cs` ReplyAndReceive loops while the result is NotFound).
    KeepWaiting,
    /// The svc returns this result with the session's index.
    Return(ResultCode),
}

/// A failed Ryujinx `Receive`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ReceiveFailure {
    /// What the client's svcSendSyncRequest returns (success for a header-check failure).
    pub client_result: ResultCode,
    /// What the server's svcReplyAndReceive does.
    pub server: ServerResult,
    /// Which step failed.
    pub step: FailedStep,
}

impl fmt::Display for ReceiveFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = match self.server {
            ServerResult::KeepWaiting => "nothing (it keeps waiting; header not restored)".to_string(),
            ServerResult::Return(rc) => format!("{rc}"),
        };
        write!(
            f,
            "request copy (Ryujinx) failed at {}: client gets {}, server gets {server}",
            self.step, self.client_result
        )
    }
}

/// A failed Ryujinx `Reply`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ReplyFailure {
    /// What the client's svcSendSyncRequest returns.
    pub client_result: ResultCode,
    /// What the server's svcReplyAndReceive returns (success: it goes on to receive).
    pub server_result: ResultCode,
    /// Which step failed.
    pub step: FailedStep,
}

impl fmt::Display for ReplyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reply copy (Ryujinx) failed at {}: client gets {}, server gets {}",
            self.step, self.client_result, self.server_result
        )
    }
}

/// The checks `Receive` and `Reply` both make on the client's message header against the
/// client's buffer (`KServerSession.cs`): its receive list must fit the buffer
/// (InvalidCombination), a non-zero list offset must not lie inside the message
/// (InvalidCombination), and the message must fit (CmdBufferTooSmall 0x20801).
fn check_client_header(header: &ParsedHeader, buf: MessageBuffer) -> Result<(), ResultCode> {
    if !header.fits(buf) {
        return Err(kernel::INVALID_COMBINATION);
    }
    if !header.receive_list_offset_is_valid() {
        return Err(kernel::INVALID_COMBINATION);
    }
    if words_to_bytes(header.layout.raw_end_idx()) > buf.size {
        return Err(kernel::MESSAGE_TOO_LARGE);
    }
    Ok(())
}

/// `KServerSession.CloseAllHandles(message, header, process)`: with the layout of
/// `header` (which need not be the message now in `buf`), zeroes the pid slot and closes
/// and zeroes every non-zero word in the handle slots of `buf`, in `side`'s table. Best
/// effort: a failing access stops it.
fn close_all_handles(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    side: Side,
    buf: MessageBuffer,
    header: &ParsedHeader,
) {
    let layout = header.layout;
    if layout.special_header().is_none() {
        return;
    }
    if let Some(pid_idx) = layout.process_id_idx()
        && write_words(mem, side, buf, pid_idx, &[0; PROCESS_ID_WORDS], FailedStep::SpecialData).is_err()
    {
        return;
    }
    let first = layout.copy_handle_idx();
    let count = layout.copy_handle_count() + layout.move_handle_count();
    let Ok(slots) = read_words(mem, side, buf, first, count) else { return };
    for (i, &handle) in slots.iter().enumerate() {
        if handle != INVALID_HANDLE_VALUE {
            handles.close_handle(side, handle);
            let _ = write_words(mem, side, buf, first + i, &[0], FailedStep::SpecialData);
        }
    }
}

/// The special data of one message as Ryujinx copies it (`Receive` and `Reply`, "Copy
/// handles"): word 2, the pid of the *sending* process (never passed through), copy
/// handles, move handles. Returns the offset after it and the client's result so far.
fn copy_special_data<M: MessageMemory, H: HandleTranslator>(
    copy: &mut MessageCopy<'_, M, H>,
) -> Result<(usize, ResultCode), (ResultCode, FailedStep)> {
    let step = FailedStep::SpecialData;
    let (Some(special_word), Some(_)) = (copy.src_header.special_word, copy.src_header.special()) else {
        return Ok((2, ResultCode::SUCCESS));
    };
    let from = copy.direction.source();
    let layout = copy.src_header.layout;
    let mut words = vec![special_word];
    if layout.process_id_idx().is_some() {
        let pid = copy.handles.process_id(from);
        words.push((pid & 0xFFFF_FFFF) as u32);
        words.push((pid >> 32) as u32);
    }
    let mut result = ResultCode::SUCCESS;
    for i in 0..layout.copy_handle_count() {
        let src_handle = copy.src_word(layout.copy_handle_idx() + i);
        let mut dst_handle = INVALID_HANDLE_VALUE;
        if src_handle != INVALID_HANDLE_VALUE {
            match copy.direction {
                // Receive: the first failure becomes the client's result; later handles
                // are not copied.
                Direction::Request if result.is_success() => match copy.handles.copy_handle(from, src_handle) {
                    Ok(h) => dst_handle = h,
                    Err(rc) => result = rc,
                },
                Direction::Request => {}
                // Reply: GetCopyObjectHandle's result is ignored; a failed handle is 0.
                Direction::Reply => dst_handle = copy.handles.copy_handle(from, src_handle).unwrap_or(0),
            }
        }
        words.push(dst_handle);
    }
    for i in 0..layout.move_handle_count() {
        let src_handle = copy.src_word(layout.move_handle_idx() + i);
        let mut dst_handle = INVALID_HANDLE_VALUE;
        if src_handle != INVALID_HANDLE_VALUE {
            if result.is_success() {
                match copy.handles.move_handle(from, src_handle) {
                    Ok(h) => dst_handle = h,
                    Err(rc) => result = rc,
                }
            } else {
                copy.handles.close_handle(from, src_handle);
            }
        }
        words.push(dst_handle);
    }
    copy.write(2, &words, step)?;
    copy.report.special_bytes = words_to_bytes(words.len());
    Ok((2 + words.len(), result))
}

/// Ryujinx `KServerSession.Receive` on the server's buffer `dst` for the client's request
/// in `src` (module doc for the failure routing).
pub fn receive_message(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    dst: MessageBuffer,
    src: MessageBuffer,
) -> Result<TransferReport, ReceiveFailure> {
    let keep_waiting =
        |(client_result, step)| ReceiveFailure { client_result, server: ServerResult::KeepWaiting, step };
    // This model's own guard (Ryujinx's TLS buffers never wrap).
    check_buffer_does_not_wrap(dst).map_err(keep_waiting)?;
    check_buffer_does_not_wrap(src).map_err(keep_waiting)?;
    let src_header = read_header(mem, Side::Client, src).map_err(keep_waiting)?;
    // GetServerMessageHeader: read, never validated.
    let dst_header = read_header(mem, Side::Server, dst).map_err(keep_waiting)?;

    // The client's header checks: the server gets the error, the client success.
    if let Err(rc) = check_client_header(&src_header, src) {
        close_all_handles(mem, handles, Side::Server, dst, &src_header);
        return Err(ReceiveFailure {
            client_result: ResultCode::SUCCESS,
            server: ServerResult::Return(rc),
            step: FailedStep::SizeCheck,
        });
    }
    let src_end = src_header.layout.raw_end_idx();
    // GetReceiveList: the server's list as its buffer holds it now. (Ryujinx reads it
    // with plain memory reads and would fault on an unmapped address; this model fails
    // the request instead.)
    let recv_list = snapshot_receive_list(mem, Side::Server, dst, &dst_header, src_end).map_err(keep_waiting)?;
    let src_words = read_words(mem, Side::Client, src, 0, src_end).map_err(keep_waiting)?;
    let dst_is_user_message_buffer =
        dst.is_user() && dst_header.header().receive_list_mode == ReceiveListMode::ToMessageBuffer;
    let mut checked = RyujinxChecks(mem);
    let mut copy = MessageCopy {
        mem: &mut checked,
        handles,
        direction: Direction::Request,
        dst,
        src_words,
        src_header,
        recv_list,
        dst_is_user_message_buffer,
        report: TransferReport::default(),
    };
    let outcome = receive_body(&mut copy);
    let Err(failure) = outcome else {
        return Ok(copy.report);
    };
    // CleanUpForError: no header restore.
    close_all_handles(copy.mem, copy.handles, Side::Server, dst, &src_header);
    Err(failure)
}

/// Everything `Receive` does after reading the receive list.
fn receive_body<M: MessageMemory, H: HandleTranslator>(copy: &mut MessageCopy<'_, M, H>) -> Result<(), ReceiveFailure> {
    let keep_waiting =
        |(client_result, step)| ReceiveFailure { client_result, server: ServerResult::KeepWaiting, step };
    copy.set_header().map_err(keep_waiting)?;
    if copy.src_header.layout.move_handle_count() != 0 {
        // Checked after words 0-1 were written; the client gets success.
        return Err(ReceiveFailure {
            client_result: ResultCode::SUCCESS,
            server: ServerResult::Return(kernel::INVALID_COMBINATION),
            step: FailedStep::MoveHandleFromClient,
        });
    }
    let (mut offset, result) = copy_special_data(copy).map_err(keep_waiting)?;
    if result.is_failure() {
        return Err(keep_waiting((result, FailedStep::SpecialData)));
    }
    let mut key = 0u64;
    for i in 0..usize::from(copy.src_header.header().pointer_count) {
        copy.process_pointer(i, &mut offset, &mut key).map_err(keep_waiting)?;
    }
    for i in 0..copy.src_header.header().map_alias_count() {
        copy.process_map_alias(i, &mut offset).map_err(keep_waiting)?;
    }
    if copy.src_header.layout.raw_count() > 0 {
        copy.process_raw_data(offset).map_err(keep_waiting)?;
    }
    Ok(())
}

/// Ryujinx `KServerSession.Reply`: the server's reply in `src` into the client's buffer
/// `dst`, which still holds the client's request (module doc for the failure routing).
pub fn send_message(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    src: MessageBuffer,
    dst: MessageBuffer,
) -> Result<TransferReport, ReplyFailure> {
    let client_fails = |(client_result, step)| ReplyFailure { client_result, server_result: ResultCode::SUCCESS, step };
    check_buffer_does_not_wrap(src).map_err(client_fails)?;
    check_buffer_does_not_wrap(dst).map_err(client_fails)?;
    let src_header = read_header(mem, Side::Server, src).map_err(client_fails)?;
    let dst_header = read_header(mem, Side::Client, dst).map_err(client_fails)?;
    let src_end = src_header.layout.raw_end_idx();

    // Checks before the copy: the client gets success, the server the error. The cleanup
    // closes "handles" of the client's buffer at the reply's handle slots.
    let header = src_header.header();
    let early = check_client_header(&dst_header, dst).map_err(|rc| (rc, FailedStep::SizeCheck)).and_then(|()| {
        if words_to_bytes(src_end) > dst.size {
            return Err((kernel::MESSAGE_TOO_LARGE, FailedStep::SizeCheck));
        }
        if header.map_alias_count() != 0 {
            return Err((kernel::INVALID_COMBINATION, FailedStep::ReplyWithMapAlias));
        }
        Ok(())
    });
    if let Err((rc, step)) = early {
        close_all_handles(mem, handles, Side::Client, dst, &src_header);
        return Err(ReplyFailure { client_result: ResultCode::SUCCESS, server_result: rc, step });
    }

    let recv_list = snapshot_receive_list(mem, Side::Client, dst, &dst_header, src_end).map_err(client_fails)?;
    let src_words = read_words(mem, Side::Server, src, 0, src_end).map_err(client_fails)?;
    let dst_is_user_message_buffer =
        dst.is_user() && dst_header.header().receive_list_mode == ReceiveListMode::ToMessageBuffer;
    let mut checked = RyujinxChecks(mem);
    let mut copy = MessageCopy {
        mem: &mut checked,
        handles,
        direction: Direction::Reply,
        dst,
        src_words,
        src_header,
        recv_list,
        dst_is_user_message_buffer,
        report: TransferReport::default(),
    };
    match reply_body(&mut copy) {
        Ok(result) if result.is_success() => Ok(copy.report),
        Ok(result) => Err(client_fails((result, FailedStep::SpecialData))),
        Err(failure) => {
            close_all_handles(copy.mem, copy.handles, Side::Client, dst, &src_header);
            Err(client_fails(failure))
        }
    }
}

/// Everything `Reply` does after reading the client's receive list; Ok(the client's
/// result) when it ran to the end.
fn reply_body<M: MessageMemory, H: HandleTranslator>(
    copy: &mut MessageCopy<'_, M, H>,
) -> Result<ResultCode, (ResultCode, FailedStep)> {
    copy.set_header()?;
    let (mut offset, mut result) = copy_special_data(copy)?;
    let mut key = 0u64;
    for i in 0..usize::from(copy.src_header.header().pointer_count) {
        let size = super::PointerDescriptor::decode([copy.src_word(offset), copy.src_word(offset + 1)]).size();
        copy.process_pointer(i, &mut offset, &mut key)?;
        if size != 0 {
            // A successful non-zero X overwrites an earlier move-handle failure.
            result = ResultCode::SUCCESS;
        }
    }
    if copy.src_header.layout.raw_count() > 0 {
        copy.process_raw_data(offset)?;
    }
    Ok(result)
}
