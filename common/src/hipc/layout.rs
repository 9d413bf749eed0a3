//! `MessageLayout`: where each part of a message sits, by the kernel's formulas
//! (`horizon-ipc.md` §1.4, AMS-MB).
#![forbid(unsafe_code)]

use super::error::HipcError;
use super::header::MessageHeader;
use super::map_alias_descriptor::MAP_ALIAS_DESCRIPTOR_WORDS;
use super::pointer_descriptor::POINTER_DESCRIPTOR_WORDS;
use super::receive_list_entry::RECEIVE_LIST_ENTRY_WORDS;
use super::special_header::{PROCESS_ID_WORDS, SpecialHeader};

/// Word indices of a message's parts, computed from its header (and special header):
///
/// ```text
/// special_data_idx = 2 + (has_special ? 1 : 0)
/// pointer_idx      = special_data_idx + (has_special ? (pid?2:0) + copy + move : 0)
/// map_alias_idx    = pointer_idx + 2*X
/// raw_idx          = map_alias_idx + 3*(A + B + W)
/// recv_list_idx    = (ReceiveListOffset != 0) ? ReceiveListOffset : raw_idx + RawCount
/// msg_size_bytes   = 4*recv_list_idx + 8*(C entries)
/// ```
///
/// All fields are bounded by their bit widths, so none of these sums can overflow.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MessageLayout {
    header: MessageHeader,
    special: Option<SpecialHeader>,
}

impl MessageLayout {
    /// The layout of a message with this header. `special` is used only when
    /// `header.has_special_header` is set (the kernel reads the special header only then,
    /// §1.3); `None` there counts as an all-zero special header.
    pub const fn new(header: MessageHeader, special: Option<SpecialHeader>) -> MessageLayout {
        let special = if header.has_special_header {
            match special {
                Some(s) => Some(s),
                None => Some(SpecialHeader { send_pid: false, copy_handle_count: 0, move_handle_count: 0 }),
            }
        } else {
            None
        };
        MessageLayout { header, special }
    }

    /// The header this layout was computed from.
    pub const fn header(&self) -> MessageHeader {
        self.header
    }

    /// The special header, when the message has one.
    pub const fn special_header(&self) -> Option<SpecialHeader> {
        self.special
    }

    /// Word index of the special header itself (2), when present.
    pub const fn special_header_idx(&self) -> Option<usize> {
        if self.special.is_some() { Some(2) } else { None }
    }

    /// First word of the special data (pid slot, copy handles, move handles).
    pub const fn special_data_idx(&self) -> usize {
        if self.special.is_some() { 3 } else { 2 }
    }

    /// Word index of the 8-byte process-id slot, when the message has one.
    pub const fn process_id_idx(&self) -> Option<usize> {
        match self.special {
            Some(s) if s.send_pid => Some(self.special_data_idx()),
            _ => None,
        }
    }

    /// First copy handle.
    pub const fn copy_handle_idx(&self) -> usize {
        match self.special {
            Some(s) if s.send_pid => self.special_data_idx() + PROCESS_ID_WORDS,
            _ => self.special_data_idx(),
        }
    }

    /// Number of copy handles.
    pub const fn copy_handle_count(&self) -> usize {
        match self.special {
            Some(s) => s.copy_handle_count as usize,
            None => 0,
        }
    }

    /// First move handle.
    pub const fn move_handle_idx(&self) -> usize {
        self.copy_handle_idx() + self.copy_handle_count()
    }

    /// Number of move handles.
    pub const fn move_handle_count(&self) -> usize {
        match self.special {
            Some(s) => s.move_handle_count as usize,
            None => 0,
        }
    }

    /// First X descriptor.
    pub const fn pointer_idx(&self) -> usize {
        match self.special {
            Some(s) => self.special_data_idx() + s.data_words(),
            None => self.special_data_idx(),
        }
    }

    /// First map-alias descriptor (A, then B, then W).
    pub const fn map_alias_idx(&self) -> usize {
        self.pointer_idx() + POINTER_DESCRIPTOR_WORDS * self.header.pointer_count as usize
    }

    /// First A descriptor (same as [`Self::map_alias_idx`]).
    pub const fn send_idx(&self) -> usize {
        self.map_alias_idx()
    }

    /// First B descriptor.
    pub const fn receive_idx(&self) -> usize {
        self.send_idx() + MAP_ALIAS_DESCRIPTOR_WORDS * self.header.send_count as usize
    }

    /// First W descriptor.
    pub const fn exchange_idx(&self) -> usize {
        self.receive_idx() + MAP_ALIAS_DESCRIPTOR_WORDS * self.header.receive_count as usize
    }

    /// First raw data word.
    pub const fn raw_idx(&self) -> usize {
        self.map_alias_idx() + MAP_ALIAS_DESCRIPTOR_WORDS * self.header.map_alias_count()
    }

    /// Number of raw data words.
    pub const fn raw_count(&self) -> usize {
        self.header.raw_count as usize
    }

    /// One past the last raw data word (the kernel's `src_end_offset`, §3.2).
    pub const fn raw_end_idx(&self) -> usize {
        self.raw_idx() + self.raw_count()
    }

    /// First receive-list word: `ReceiveListOffset` when non-zero, else the raw end.
    pub const fn recv_list_idx(&self) -> usize {
        if self.header.receive_list_offset != 0 { self.header.receive_list_offset as usize } else { self.raw_end_idx() }
    }

    /// Number of C entries (0, 0, 1 or n by mode).
    pub const fn recv_list_entry_count(&self) -> usize {
        self.header.receive_list_mode.entry_count()
    }

    /// Message size in words, receive list included.
    pub const fn message_size_words(&self) -> usize {
        self.recv_list_idx() + RECEIVE_LIST_ENTRY_WORDS * self.recv_list_entry_count()
    }

    /// Message size in bytes (AMS-MB `GetMessageBufferSize`).
    pub const fn message_size_bytes(&self) -> usize {
        4 * self.message_size_words()
    }

    /// Err when a non-zero receive-list offset lies before the raw end (the kernel's
    /// InvalidCombination check, §2.3).
    pub const fn check_receive_list_offset(&self) -> Result<(), HipcError> {
        let offset = self.header.receive_list_offset as usize;
        if offset != 0 && offset < self.raw_end_idx() {
            return Err(HipcError::ReceiveListOffsetInsideMessage { offset, raw_end: self.raw_end_idx() });
        }
        Ok(())
    }

    /// Err unless the whole message (receive list included) fits `available_words`.
    pub const fn check_fits(&self, available_words: usize) -> Result<(), HipcError> {
        if self.message_size_words() > available_words {
            return Err(HipcError::BufferTooSmall { needed_words: self.message_size_words(), available_words });
        }
        Ok(())
    }
}
