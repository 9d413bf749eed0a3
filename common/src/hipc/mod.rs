//! The HIPC message codec (`horizon-ipc.md` §1–§2): header, special header, descriptors
//! (X = [`PointerDescriptor`], A/B/W = [`MapAliasDescriptor`], C = [`ReceiveListEntry`]),
//! the message layout, a builder and a parser over a message buffer of `u32` words.
//!
//! Nothing here allocates; every size is checked against the buffer before it is used.
#![forbid(unsafe_code)]

mod builder;
mod error;
mod header;
mod layout;
mod map_alias_descriptor;
mod parser;
mod pointer_descriptor;
mod receive_list_entry;
mod special_header;

pub use builder::{MessageBuilder, MessageSpec};
pub use error::{Field, HipcError, Slot};
pub use header::{
    DESCRIPTOR_COUNT_MAX, MessageHeader, RAW_COUNT_MAX, RECEIVE_LIST_COUNT_OFFSET, RECEIVE_LIST_ENTRY_COUNT_MAX,
    RECEIVE_LIST_OFFSET_MAX, ReceiveListMode,
};
pub use layout::MessageLayout;
pub use map_alias_descriptor::{MAP_ALIAS_DESCRIPTOR_WORDS, MAP_ALIAS_SIZE_MAX, MapAliasAttribute, MapAliasDescriptor};
pub use parser::{Descriptors, Message, WireDescriptor};
pub use pointer_descriptor::{
    ADDRESS_MAX, POINTER_DESCRIPTOR_WORDS, POINTER_INDEX_MAX, POINTER_SIZE_MAX, PointerDescriptor,
};
pub use receive_list_entry::{RECEIVE_LIST_ENTRY_WORDS, RECEIVE_LIST_SIZE_MAX, ReceiveListEntry};
pub use special_header::{HANDLE_COUNT_MAX, PROCESS_ID_WORDS, SpecialHeader};

/// Size of the TLS message buffer in bytes (`horizon-ipc.md` §1.1, AMS-TLR).
pub const TLS_MESSAGE_BUFFER_SIZE: usize = 0x100;
/// Size of the TLS message buffer in words.
pub const TLS_MESSAGE_BUFFER_WORDS: usize = TLS_MESSAGE_BUFFER_SIZE / 4;
/// Pseudo-handle for the calling thread: valid wherever a thread handle is taken, and
/// translated by the kernel when sent as a copy handle (Atmosphère
/// `libraries/libvapours/include/vapours/svc/svc_common.hpp` `PseudoHandle`;
/// `horizon-ipc.md` §3.2 step 7).
pub const PSEUDO_HANDLE_CURRENT_THREAD: u32 = 0xFFFF_8000;
/// Pseudo-handle for the calling process (same file, `PseudoHandle::CurrentProcess`).
pub const PSEUDO_HANDLE_CURRENT_PROCESS: u32 = 0xFFFF_8001;
/// Alignment the kernel packs X data at (AMS-SS `PointerTransferBufferAlignment`, §3.3).
pub const POINTER_TRANSFER_BUFFER_ALIGNMENT: u64 = 0x10;
