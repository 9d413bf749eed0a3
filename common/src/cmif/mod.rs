//! CMIF: the command layer inside the HIPC raw data (`horizon-ipc.md` §6, §5.2).
//!
//! A request's raw data holds 16 bytes of padding budget, the 16-byte "SFCI" in header at
//! `AlignUp(raw_start_byte, 16)` (relative to the message start), the command's payload,
//! and the u16 out-pointer size table at byte `AlignUp(16 + 16 + payload, 2)` from the
//! raw-data start (§6.3, NX-CMIF `cmifMakeRequest`, STR-MP
//! `GetUnfixedOutPointerSizeOffset`). A reply's raw data holds the padding budget, the
//! "SFCO" out header at `AlignUp(raw_start_byte, 16)` and the out payload (§6.3
//! "Response", STR-SER `PrepareForReply`).
//!
//! Domains (objects inside one session): the client side only (`domain`: the request and
//! Close forms and the reply parser libnx uses; the bench's HLE server parses them itself).
//! Nothing here allocates. All byte offsets are relative to the message start and the
//! words are little-endian whatever the host (§0 "Conventions").
//!
//! | module | what it holds |
//! |---|---|
//! | `error` | [`CmifError`] and the Result each error gives |
//! | `command_type` | the HIPC tags of CMIF ([`CommandType`]) and the [`control`] command ids |
//! | `header` | the SFCI/SFCO headers ([`InHeader`], [`OutHeader`]) |
//! | `layout` | where the parts of a request or reply sit ([`RequestLayout`], [`ReplyLayout`]) |
//! | `words` | bounds-checked byte access to the little-endian message words |
//! | `fields` | the HIPC counts and special header both builders fill |
//! | `domain` | client side of domains: [`build_domain_request`], [`build_domain_close`], [`parse_domain_reply`] |
//! | `request_builder` | client side: [`build_request`], [`build_close`], [`build_query_pointer_buffer_size`] |
//! | `request_parser` | server side: [`parse_request`], [`Request`], [`SizeTable`] |
//! | `reply_builder` | server side: [`build_reply`] |
//! | `reply_parser` | client side: [`parse_reply`], [`Reply`] |

#![forbid(unsafe_code)]
// These lints hold in every submodule below: the codec is on the server's request path.

mod command_type;
mod domain;
mod error;
mod fields;
mod header;
mod layout;
mod reply_builder;
mod reply_parser;
mod request_builder;
mod request_parser;
mod words;

pub use command_type::{CommandType, control};
pub use domain::{
    DOMAIN_CLOSE, DOMAIN_HEADER_SIZE, DOMAIN_PAYLOAD_MAX, DOMAIN_SEND_MESSAGE, DomainReply, build_domain_close,
    build_domain_request, domain_in_header, parse_domain_reply,
};
pub use error::CmifError;
pub use header::{HEADER_SIZE, IN_HEADER_MAGIC, IN_HEADER_VERSION_MAX, InHeader, OUT_HEADER_MAGIC, OutHeader};
pub use layout::{HEADER_ALIGNMENT, PADDING_BUDGET, ReplyLayout, RequestLayout, reply_raw_count};
pub use reply_builder::{ReplySpec, build_reply};
pub use reply_parser::{Reply, parse_reply};
pub use request_builder::{OutPointer, RequestSpec, build_close, build_query_pointer_buffer_size, build_request};
pub use request_parser::{Incoming, Request, SizeTable, parse_request};
