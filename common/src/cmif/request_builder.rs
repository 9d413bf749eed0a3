//! Requests, client side: [`build_request`] lays a CMIF request out as libnx's
//! `cmifMakeRequest` does, plus the Close message and QueryPointerBufferSize.

use super::command_type::{CommandType, control};
use super::error::CmifError;
use super::fields::{fill_special, special_for, u8_count, u16_count};
use super::header::InHeader;
use super::layout::RequestLayout;
use super::words::{write_bytes, write_header};
use crate::hipc::{
    HipcError, MapAliasDescriptor, MessageBuilder, MessageHeader, MessageLayout, PointerDescriptor, ReceiveListEntry,
    ReceiveListMode,
};

/// One output buffer of a request: a C entry of the receive list, and whether the command
/// also takes its size in the u16 size table (libnx: non-FixedSize pointer buffers, §5.3).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OutPointer {
    /// The C entry (client buffer address and size).
    pub entry: ReceiveListEntry,
    /// Write `entry.size()` into the size table.
    pub has_size_entry: bool,
}

/// A CMIF request (no domain). Built by [`build_request`].
#[derive(Clone, Copy, Debug)]
pub struct RequestSpec<'s> {
    /// Request, Control, or their WithContext forms.
    pub command_type: CommandType,
    /// The command id.
    pub command_id: u32,
    /// In-header version (0, or 1 with a token).
    pub version: u32,
    /// In-header token.
    pub token: u32,
    /// Send the pid (the kernel fills it in).
    pub process_id: Option<u64>,
    /// Copy handles.
    pub copy_handles: &'s [u32],
    /// X descriptors of the inputs, in index order.
    pub in_pointers: &'s [PointerDescriptor],
    /// A descriptors.
    pub sends: &'s [MapAliasDescriptor],
    /// B descriptors.
    pub receives: &'s [MapAliasDescriptor],
    /// W descriptors.
    pub exchanges: &'s [MapAliasDescriptor],
    /// Outputs: the receive list, in out-pointer index order.
    pub out_pointers: &'s [OutPointer],
    /// `None`: libnx's choice, `Index(n)` for n out-pointers and `None` for none (§5.3).
    /// `Some(mode)`: that mode; its entry count must equal `out_pointers.len()`.
    pub receive_list_mode: Option<ReceiveListMode>,
    /// The command's payload bytes (after the in header).
    pub payload: &'s [u8],
}

impl Default for RequestSpec<'_> {
    fn default() -> Self {
        RequestSpec {
            command_type: CommandType::Request,
            command_id: 0,
            version: 0,
            token: 0,
            process_id: None,
            copy_handles: &[],
            in_pointers: &[],
            sends: &[],
            receives: &[],
            exchanges: &[],
            out_pointers: &[],
            receive_list_mode: None,
            payload: &[],
        }
    }
}

/// Builds a CMIF request into `buf` (`horizon-ipc.md` §6.3, §9) and returns the message
/// size in bytes. Padding bytes are zero.
pub fn build_request(buf: &mut [u32], spec: &RequestSpec<'_>) -> Result<usize, CmifError> {
    use crate::hipc::Field;
    let n_out = spec.out_pointers.len();
    let mode = match spec.receive_list_mode {
        Some(m) => m,
        None if n_out == 0 => ReceiveListMode::None,
        None => {
            let n = u8::try_from(n_out).map_err(|_| CmifError::TooManyOutPointers { count: n_out })?;
            ReceiveListMode::index(n).map_err(|_| CmifError::TooManyOutPointers { count: n_out })?
        }
    };
    if mode.entry_count() != n_out {
        return Err(HipcError::ReceiveListLengthMismatch { given: n_out, expected: mode.entry_count() }.into());
    }
    let special = special_for(spec.process_id, spec.copy_handles, &[])?;
    let mut header = MessageHeader {
        tag: spec.command_type.tag(),
        pointer_count: u8_count(spec.in_pointers.len(), Field::PointerCount)?,
        send_count: u8_count(spec.sends.len(), Field::SendCount)?,
        receive_count: u8_count(spec.receives.len(), Field::ReceiveCount)?,
        exchange_count: u8_count(spec.exchanges.len(), Field::ExchangeCount)?,
        raw_count: 0,
        receive_list_mode: mode,
        receive_list_offset: 0,
        has_special_header: special.is_some(),
    };
    let raw_idx = MessageLayout::new(header, special).raw_idx();
    let entries = spec.out_pointers.iter().filter(|o| o.has_size_entry).count();
    let layout = RequestLayout::new(raw_idx, spec.payload.len(), entries)?;
    header.raw_count = u16_count(layout.raw_count, Field::RawCount)?;

    let mut b = MessageBuilder::new(buf, header, special)?;
    fill_special(&mut b, spec.process_id, spec.copy_handles, &[])?;
    for (i, d) in spec.in_pointers.iter().enumerate() {
        b.set_pointer_descriptor(i, d)?;
    }
    for (i, d) in spec.sends.iter().enumerate() {
        b.set_send_buffer(i, d)?;
    }
    for (i, d) in spec.receives.iter().enumerate() {
        b.set_receive_buffer(i, d)?;
    }
    for (i, d) in spec.exchanges.iter().enumerate() {
        b.set_exchange_buffer(i, d)?;
    }
    for (i, o) in spec.out_pointers.iter().enumerate() {
        b.set_receive_list_entry(i, &o.entry)?;
    }
    let size = b.message_size_bytes();
    let (words, _) = b.into_buffer();
    // All offsets below lie inside the raw data the builder reserved and zeroed:
    // header + 16 + payload <= raw_start + 32 + payload <= size_table, and the table
    // ends at raw_start + 4*raw_count at the latest.
    let hdr = InHeader { version: spec.version, command_id: spec.command_id, token: spec.token }.encode();
    write_header(words, layout.header, hdr)?;
    write_bytes(words, layout.payload, spec.payload);
    let mut at = layout.size_table;
    for o in spec.out_pointers.iter().filter(|o| o.has_size_entry) {
        write_bytes(words, at, &o.entry.size().to_le_bytes());
        at += 2;
    }
    Ok(size)
}

/// Builds a Close message (type 2, nothing else; §6.1) and returns its size in bytes.
pub fn build_close(buf: &mut [u32]) -> Result<usize, CmifError> {
    let header = MessageHeader { tag: CommandType::Close.tag(), ..MessageHeader::default() };
    Ok(MessageBuilder::new(buf, header, None)?.message_size_bytes())
}

/// Builds the Control request QueryPointerBufferSize (type 5, command 3, §5.2).
pub fn build_query_pointer_buffer_size(buf: &mut [u32]) -> Result<usize, CmifError> {
    build_request(
        buf,
        &RequestSpec {
            command_type: CommandType::Control,
            command_id: control::QUERY_POINTER_BUFFER_SIZE,
            ..RequestSpec::default()
        },
    )
}
