//! Replies, server side: [`build_reply`] writes the SFCO header, the out payload, the
//! out-pointer X descriptors and the receive list for the receive that follows.

use super::command_type::CommandType;
use super::error::CmifError;
use super::fields::{fill_special, special_for, u8_count, u16_count};
use super::header::OutHeader;
use super::layout::ReplyLayout;
use super::words::{write_bytes, write_header};
use crate::hipc::{
    HipcError, MessageBuilder, MessageHeader, MessageLayout, PointerDescriptor, ReceiveListEntry, ReceiveListMode,
};
use crate::result::ResultCode;

/// A CMIF reply (type 0). Built by [`build_reply`].
#[derive(Clone, Copy, Debug)]
pub struct ReplySpec<'s> {
    /// The command's result (SFCO `result`).
    pub result: ResultCode,
    /// SFCO `token`.
    pub token: u32,
    /// X descriptors for the out-pointers: `{address in the pointer buffer, size, index of
    /// the client's C entry}` (§5.1). Must be empty in an error reply (§6.3).
    pub out_pointers: &'s [PointerDescriptor],
    /// Copy handles.
    pub copy_handles: &'s [u32],
    /// Move handles (allowed in replies, §4).
    pub move_handles: &'s [u32],
    /// The out payload after the SFCO header.
    pub payload: &'s [u8],
    /// The server's own receive list for the receive that follows the reply in the same
    /// `svcReplyAndReceive` (design.md "Data flow"): mode, offset (0 = after the raw data)
    /// and entries.
    pub receive_list_mode: ReceiveListMode,
    /// Receive-list offset in words.
    pub receive_list_offset: u16,
    /// C entries (as many as the mode needs).
    pub receive_list: &'s [ReceiveListEntry],
}

impl Default for ReplySpec<'_> {
    fn default() -> Self {
        ReplySpec {
            result: ResultCode::SUCCESS,
            token: 0,
            out_pointers: &[],
            copy_handles: &[],
            move_handles: &[],
            payload: &[],
            receive_list_mode: ReceiveListMode::None,
            receive_list_offset: 0,
            receive_list: &[],
        }
    }
}

impl<'s> ReplySpec<'s> {
    /// An error reply: the headers only, no X descriptors and no payload (§6.3,
    /// STR-SER `PrepareForErrorReply`).
    pub fn error(result: ResultCode) -> ReplySpec<'s> {
        ReplySpec { result, ..ReplySpec::default() }
    }
}

/// Builds a CMIF reply into `buf` and returns the message size in bytes (receive list
/// included). Padding bytes are zero.
pub fn build_reply(buf: &mut [u32], spec: &ReplySpec<'_>) -> Result<usize, CmifError> {
    use crate::hipc::Field;
    let expected = spec.receive_list_mode.entry_count();
    if spec.receive_list.len() != expected {
        return Err(HipcError::ReceiveListLengthMismatch { given: spec.receive_list.len(), expected }.into());
    }
    let special = special_for(None, spec.copy_handles, spec.move_handles)?;
    let mut header = MessageHeader {
        tag: CommandType::Invalid.tag(),
        pointer_count: u8_count(spec.out_pointers.len(), Field::PointerCount)?,
        receive_list_mode: spec.receive_list_mode,
        receive_list_offset: spec.receive_list_offset,
        has_special_header: special.is_some(),
        ..MessageHeader::default()
    };
    let raw_idx = MessageLayout::new(header, special).raw_idx();
    let layout = ReplyLayout::new(raw_idx, spec.payload.len())?;
    header.raw_count = u16_count(layout.raw_count, Field::RawCount)?;

    let mut b = MessageBuilder::new(buf, header, special)?;
    fill_special(&mut b, None, spec.copy_handles, spec.move_handles)?;
    for (i, d) in spec.out_pointers.iter().enumerate() {
        b.set_pointer_descriptor(i, d)?;
    }
    for (i, e) in spec.receive_list.iter().enumerate() {
        b.set_receive_list_entry(i, e)?;
    }
    let size = b.message_size_bytes();
    let (words, _) = b.into_buffer();
    // header + 16 + payload <= raw_start + 32 + payload <= raw end: inside the reserved raw data.
    let hdr = OutHeader { version: 0, result: spec.result, token: spec.token }.encode();
    write_header(words, layout.header, hdr)?;
    write_bytes(words, layout.payload, spec.payload);
    Ok(size)
}
