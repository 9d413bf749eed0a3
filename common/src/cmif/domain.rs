//! Domains, client side (`horizon-ipc.md` §6.2): a request to an object of a domain session
//! carries a 16-byte domain header before the SFCI header, and the reply a 16-byte domain
//! out header before the SFCO header, with the out-object ids after the reply's data.
//! Layouts as libnx `nx/include/switch/sf/cmif.h` (`cmifMakeRequest` with an object id,
//! `cmifMakeCloseRequest`, `cmifParseResponse` with `is_domain`), which libstratosphere's
//! `DomainServiceObjectDispatchTable::ProcessMessageImpl` and `PrepareForReply` read and
//! write.
//!
//! ```text
//! request raw data: padding | domain header {u8 type 1, u8 num_in_objects, u16 data_size
//!                   = 16 + payload, u32 object_id, u32 0, u32 token} | SFCI | payload
//!                   | in-object ids | u16 size table
//! reply raw data:   padding | {u32 num_out_objects, 12 bytes 0} | SFCO | data | out ids
//! ```

use super::error::CmifError;
use super::header::{HEADER_SIZE, OUT_HEADER_MAGIC, OutHeader};
use super::layout::{HEADER_ALIGNMENT, align_up};
use super::request_builder::{RequestSpec, build_request};
use super::words::{PayloadWindow, header_words, write_header};
use crate::hipc::{Message, MessageBuilder, MessageHeader};
use crate::result::ResultCode;

/// Domain header type: a message for an object (libnx `CmifDomainRequestType_SendMessage`).
pub const DOMAIN_SEND_MESSAGE: u8 = 1;
/// Domain header type: close an object (libnx `CmifDomainRequestType_Close`).
pub const DOMAIN_CLOSE: u8 = 2;
/// Size of the domain in and out headers.
pub const DOMAIN_HEADER_SIZE: usize = 16;
/// Largest payload [`build_domain_request`] carries (the in header and the payload are
/// staged in a buffer of this size plus 16).
pub const DOMAIN_PAYLOAD_MAX: usize = 0xE0;

/// The 16-byte domain in header as 4 words.
pub const fn domain_in_header(kind: u8, num_in_objects: u8, data_size: u16, object_id: u32) -> [u32; 4] {
    [kind as u32 | (num_in_objects as u32) << 8 | (data_size as u32) << 16, object_id, 0, 0]
}

/// The byte offset of the CMIF view (the aligned raw-data start) of the message in `buf`.
fn view_start(buf: &[u32]) -> Result<usize, CmifError> {
    let message = Message::parse(buf)?;
    Ok(align_up(4 * message.layout().raw_idx(), HEADER_ALIGNMENT))
}

/// Builds `spec` as a message to domain object `object_id` (no in-objects) and returns the
/// message size in bytes. `spec.command_type` must be Request.
pub fn build_domain_request(buf: &mut [u32], object_id: u32, spec: &RequestSpec<'_>) -> Result<usize, CmifError> {
    let len = spec.payload.len();
    if len > DOMAIN_PAYLOAD_MAX {
        return Err(CmifError::PayloadTooLarge { len });
    }
    // Staged: [16 bytes for the SFCI header][payload]. The plain builder writes its own
    // SFCI at the aligned start and this after it; the domain header then replaces the
    // first 16 bytes: domain header, SFCI (ours), payload, size table after it, as
    // libnx lays it out.
    let mut staged = [0u8; DOMAIN_PAYLOAD_MAX + HEADER_SIZE];
    let in_header =
        super::header::InHeader { version: spec.version, command_id: spec.command_id, token: spec.token }.encode();
    for (chunk, word) in staged.chunks_exact_mut(4).zip(in_header) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let total = HEADER_SIZE + len;
    if let (Some(to), Some(from)) = (staged.get_mut(HEADER_SIZE..total), Some(spec.payload)) {
        to.copy_from_slice(from);
    }
    let staged = staged.get(..total).ok_or(CmifError::PayloadTooLarge { len })?;
    let size = build_request(buf, &RequestSpec { payload: staged, ..*spec })?;
    let at = view_start(buf)?;
    let data_size = u16::try_from(total).map_err(|_| CmifError::PayloadTooLarge { len })?;
    write_header(buf, at, domain_in_header(DOMAIN_SEND_MESSAGE, 0, data_size, object_id))?;
    Ok(size)
}

/// Builds the domain Close of `object_id` (type 4, raw data = padding + domain header type
/// 2; libnx `cmifMakeCloseRequest` with an object id) and returns its size in bytes.
pub fn build_domain_close(buf: &mut [u32], object_id: u32) -> Result<usize, CmifError> {
    let header = MessageHeader {
        tag: super::CommandType::Request.tag(),
        raw_count: ((super::layout::PADDING_BUDGET + DOMAIN_HEADER_SIZE) / 4) as u16,
        ..MessageHeader::default()
    };
    let size = MessageBuilder::new(buf, header, None)?.message_size_bytes();
    let at = view_start(buf)?;
    write_header(buf, at, domain_in_header(DOMAIN_CLOSE, 0, 0, object_id))?;
    Ok(size)
}

/// A parsed reply on a domain session.
#[derive(Clone, Copy, Debug)]
pub struct DomainReply<'a> {
    message: Message<'a>,
    header: OutHeader,
    num_out_objects: u32,
    payload: usize,
    data_size: usize,
    raw_end: usize,
}

/// Parses a reply on a domain session whose data is `data_size` bytes (the command's
/// declared output; the out-object ids follow it, as libnx reads them). The SFCO magic must
/// match; a failure result is not an Err here ([`DomainReply::result`]).
pub fn parse_domain_reply(buf: &[u32], data_size: usize) -> Result<DomainReply<'_>, CmifError> {
    let message = Message::parse(buf)?;
    let layout = message.layout();
    let raw_start = 4 * layout.raw_idx();
    let raw_end = raw_start + 4 * layout.raw_count();
    let at = align_up(raw_start, HEADER_ALIGNMENT);
    let sfco = at + DOMAIN_HEADER_SIZE;
    if sfco + HEADER_SIZE > raw_end {
        return Err(CmifError::HeaderTooShort { view_bytes: raw_end.saturating_sub(at) });
    }
    let num_out_objects = header_words(message.words(), at).first().copied().unwrap_or(0);
    let words = header_words(message.words(), sfco);
    if words.first() != Some(&OUT_HEADER_MAGIC) {
        return Err(CmifError::InvalidOutHeader { magic: words.first().copied().unwrap_or(0) });
    }
    let header = OutHeader::decode(words)?;
    Ok(DomainReply { message, header, num_out_objects, payload: sfco + HEADER_SIZE, data_size, raw_end })
}

impl<'a> DomainReply<'a> {
    /// The HIPC message (handles).
    pub fn message(&self) -> &Message<'a> {
        &self.message
    }

    /// The command's result.
    pub fn result(&self) -> ResultCode {
        self.header.result
    }

    /// The domain out header's object count.
    pub fn num_out_objects(&self) -> u32 {
        self.num_out_objects
    }

    fn window(&self) -> PayloadWindow<'_> {
        PayloadWindow { words: self.message.words(), start: self.payload, end: self.raw_end }
    }

    /// The little-endian u8 at data `offset`.
    pub fn payload_u8(&self, offset: usize) -> Result<u8, CmifError> {
        self.window().le_bytes(offset).map(u8::from_le_bytes)
    }

    /// The little-endian u32 at data `offset`.
    pub fn payload_u32(&self, offset: usize) -> Result<u32, CmifError> {
        self.window().le_bytes(offset).map(u32::from_le_bytes)
    }

    /// The little-endian u64 at data `offset`.
    pub fn payload_u64(&self, offset: usize) -> Result<u64, CmifError> {
        self.window().le_bytes(offset).map(u64::from_le_bytes)
    }

    /// Out-object `index`'s id: the u32 at data `data_size + 4 * index`, when the domain
    /// header counts it.
    pub fn out_object(&self, index: usize) -> Result<u32, CmifError> {
        let count = usize::try_from(self.num_out_objects).unwrap_or(usize::MAX);
        if index >= count {
            return Err(CmifError::OutOfRawData { offset: index, len: 4, raw_end: count });
        }
        self.payload_u32(self.data_size + 4 * index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmif::CommandType;
    use crate::hipc::PSEUDO_HANDLE_CURRENT_PROCESS;

    /// appletOE 0 OpenApplicationProxy on a domain: raw {u64 0} + PID + copy handle
    /// 0xFFFF8001 (screen-output.md §1a step 2), as libnx builds it.
    #[test]
    fn a_domain_request_puts_the_domain_header_before_sfci_with_data_size_16_plus_payload() {
        let mut buf = [0u32; 64];
        let spec = RequestSpec {
            command_id: 0,
            process_id: Some(0),
            copy_handles: &[PSEUDO_HANDLE_CURRENT_PROCESS],
            payload: &0u64.to_le_bytes(),
            ..RequestSpec::default()
        };
        let size = build_domain_request(&mut buf, 7, &spec).unwrap();
        // Header: type 4, special header; special: PID + 1 copy handle; PID 2 words; the
        // handle; raw data from word 6 -> aligned view at word 8.
        assert_eq!(buf[0] & 0xFFFF, 4);
        assert_eq!(buf[2], 1 | 1 << 1);
        assert_eq!(buf[5], PSEUDO_HANDLE_CURRENT_PROCESS);
        // raw words: 16 padding + 16 domain + 16 SFCI + 8 payload = 56 bytes = 14 words.
        assert_eq!(buf[1] & 0x3FF, 14);
        assert_eq!(size, 4 * (6 + 14));
        assert_eq!(&buf[8..12], &[1 | 0x18 << 16, 7, 0, 0]);
        assert_eq!(&buf[12..16], &[0x4943_4653, 0, 0, 0]);
        assert_eq!(&buf[16..18], &[0, 0]);
    }

    #[test]
    fn a_domain_request_with_a_payload_too_large_is_an_error() {
        let mut buf = [0u32; 64];
        let big = [0u8; DOMAIN_PAYLOAD_MAX + 1];
        let spec = RequestSpec { payload: &big, ..RequestSpec::default() };
        assert!(matches!(build_domain_request(&mut buf, 1, &spec), Err(CmifError::PayloadTooLarge { .. })));
    }

    #[test]
    fn a_domain_close_is_type_4_with_a_type_2_domain_header_and_nothing_else() {
        let mut buf = [0u32; 16];
        let size = build_domain_close(&mut buf, 3).unwrap();
        assert_eq!(buf[0], CommandType::Request.tag() as u32);
        assert_eq!(buf[1], 8);
        assert_eq!(size, 4 * 10);
        assert_eq!(&buf[4..8], &[2, 3, 0, 0]);
    }

    #[test]
    fn a_domain_reply_gives_result_data_and_the_out_objects_after_the_declared_data() {
        // type 0, 12 raw words: padding from word 2, aligned view at word 4.
        let mut buf = [0u32; 32];
        buf[1] = 12;
        buf[4] = 1; // one out object
        buf[8] = OUT_HEADER_MAGIC;
        buf[12] = 0xAABB; // 4 bytes of data
        buf[13] = 9; // out object id after 4 bytes of data
        let r = parse_domain_reply(&buf, 4).unwrap();
        assert_eq!(r.result(), ResultCode::SUCCESS);
        assert_eq!(r.payload_u32(0).unwrap(), 0xAABB);
        assert_eq!(r.out_object(0).unwrap(), 9);
        assert!(r.out_object(1).is_err());
        buf[8] = 0x1234;
        assert!(matches!(parse_domain_reply(&buf, 4), Err(CmifError::InvalidOutHeader { magic: 0x1234 })));
    }
}
