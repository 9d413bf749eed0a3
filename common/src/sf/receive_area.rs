//! The server's receive list: which C entries it arms in its message buffer and where.
//!
//! The list sits at the fixed word offset [`RECEIVE_LIST_OFFSET`], in the receive-only
//! message ([`arm`]) *and* in every reply (the dispatcher writes it with the reply), so
//! one `svcReplyAndReceive` both replies and receives the next request: the kernel reads
//! the reply, then reads the same buffer's header as the receive descriptor
//! (emulator-bench.md "Receive list at a non-zero offset"). The offset lies at or after
//! the end of every reply's raw data (checked per command table,
//! [`super::command::table_fits`]) and `offset*4 + 8*entries <= 0x100` (asserted in
//! [`super`]).
//!
//! Two modes (`horizon-ipc.md` §1.2, §3.3):
//! - **single** (mode 2): one entry covering the whole pointer buffer; the kernel packs
//!   every X into it at 16-byte-aligned addresses;
//! - **indexed** (mode 2 + n): entry *k* is a region of the pointer buffer and takes the
//!   X of index *k*, at its very start.
#![forbid(unsafe_code)]

use core::fmt;

use crate::hipc::{
    ADDRESS_MAX, HipcError, MessageBuilder, MessageHeader, RECEIVE_LIST_ENTRY_COUNT_MAX, RECEIVE_LIST_SIZE_MAX,
    ReceiveListEntry, ReceiveListMode,
};

use super::RECEIVE_LIST_OFFSET;
use super::pointer_buffer::PointerBufferRange;

/// One C entry of an indexed receive list, as a region of the pointer buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EntryLayout {
    /// Offset of the entry inside the pointer buffer.
    pub offset: usize,
    /// Size of the entry (the C descriptor's 16-bit size).
    pub size: usize,
}

/// How the pointer buffer is offered to the kernel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReceiveMode {
    /// Mode 2: one C entry over the whole pointer buffer.
    Single,
    /// Mode 2 + n: n C entries, each a region of the pointer buffer (1..=13 entries).
    Indexed(&'static [EntryLayout]),
}

impl ReceiveMode {
    /// The raw receive-list mode (horizon-ipc.md §1.2): 2 for single, 2 + entries for
    /// indexed.
    pub const fn raw(&self) -> u32 {
        match self {
            ReceiveMode::Single => 2,
            // validate() bounds the count to 1..=13.
            ReceiveMode::Indexed(entries) => 2 + entries.len() as u32,
        }
    }
}

/// The pointer buffer as the server announces it: guest address, size and mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ReceiveArea {
    /// Guest address of the pointer buffer (what the kernel writes into X descriptors).
    pub guest_addr: u64,
    /// Size of the pointer buffer in bytes.
    pub size: usize,
    /// Single or indexed.
    pub mode: ReceiveMode,
}

/// Why a [`ReceiveArea`] cannot be armed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReceiveAreaError {
    /// `guest_addr + size` overflows or passes the 39-bit address space (§2.3).
    AddressOutOfRange,
    /// Single mode with a buffer larger than a C entry's 16-bit size, or an empty buffer.
    BadSize,
    /// Indexed mode with 0 or more than 13 entries (§1.2).
    BadEntryCount,
    /// An indexed entry that is empty, larger than 0xFFFF or outside the buffer.
    BadEntry {
        /// The entry's index.
        index: usize,
    },
}

impl fmt::Display for ReceiveAreaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceiveAreaError::AddressOutOfRange => {
                write!(f, "pointer buffer does not fit the 39-bit address space")
            }
            ReceiveAreaError::BadSize => write!(f, "single-mode pointer buffer must be 1..=0xFFFF bytes"),
            ReceiveAreaError::BadEntryCount => write!(f, "indexed receive list needs 1..=13 entries"),
            ReceiveAreaError::BadEntry { index } => {
                write!(f, "receive-list entry {index} is empty, too large or outside the buffer")
            }
        }
    }
}

impl ReceiveArea {
    /// Checks the area can be described by C entries; returns its guest range.
    pub fn validate(&self) -> Result<PointerBufferRange, ReceiveAreaError> {
        let range = PointerBufferRange::new(self.guest_addr, self.size).ok_or(ReceiveAreaError::AddressOutOfRange)?;
        if self.size == 0 {
            return Err(ReceiveAreaError::BadSize);
        }
        // The last byte must be addressable with 39 bits (size > 0, so end > base).
        if range.end().saturating_sub(1) > ADDRESS_MAX {
            return Err(ReceiveAreaError::AddressOutOfRange);
        }
        match self.mode {
            ReceiveMode::Single => {
                if self.size as u64 > RECEIVE_LIST_SIZE_MAX {
                    return Err(ReceiveAreaError::BadSize);
                }
            }
            ReceiveMode::Indexed(entries) => {
                if entries.is_empty() || entries.len() > usize::from(RECEIVE_LIST_ENTRY_COUNT_MAX) {
                    return Err(ReceiveAreaError::BadEntryCount);
                }
                for (index, e) in entries.iter().enumerate() {
                    let inside = e.offset.checked_add(e.size).is_some_and(|end| end <= self.size);
                    if e.size == 0 || e.size as u64 > RECEIVE_LIST_SIZE_MAX || !inside {
                        return Err(ReceiveAreaError::BadEntry { index });
                    }
                }
            }
        }
        Ok(range)
    }

    /// The receive-list mode field for this area.
    pub fn receive_list_mode(&self) -> ReceiveListMode {
        match self.mode {
            ReceiveMode::Single => ReceiveListMode::ToSingleBuffer,
            // validate() bounds the count to 1..=13; a bad count yields an invalid mode
            // that the builder rejects.
            ReceiveMode::Indexed(entries) => ReceiveListMode::Index(u8::try_from(entries.len()).unwrap_or(u8::MAX)),
        }
    }

    /// Number of C entries.
    pub fn entry_count(&self) -> usize {
        match self.mode {
            ReceiveMode::Single => 1,
            ReceiveMode::Indexed(entries) => entries.len(),
        }
    }

    /// C entry `index` (guest address and size), if it exists and is encodable.
    pub fn entry(&self, index: usize) -> Option<ReceiveListEntry> {
        let (offset, size) = match self.mode {
            ReceiveMode::Single if index == 0 => (0, self.size),
            ReceiveMode::Single => return None,
            ReceiveMode::Indexed(entries) => {
                let e = entries.get(index)?;
                (e.offset, e.size)
            }
        };
        let addr = self.guest_addr.checked_add(u64::try_from(offset).ok()?)?;
        ReceiveListEntry::new(addr, u64::try_from(size).ok()?).ok()
    }

    /// Writes every C entry into a message being built (its header must declare this
    /// area's mode).
    pub fn write_entries(&self, builder: &mut MessageBuilder<'_>) -> Result<(), HipcError> {
        for index in 0..self.entry_count() {
            let Some(entry) = self.entry(index) else {
                return Err(HipcError::SlotOutOfRange {
                    slot: crate::hipc::Slot::ReceiveList,
                    index,
                    count: self.entry_count(),
                });
            };
            builder.set_receive_list_entry(index, &entry)?;
        }
        Ok(())
    }

    /// Word 1 fields shared by the receive-only message and every reply: this area's
    /// mode at [`RECEIVE_LIST_OFFSET`].
    pub fn receive_list_offset(&self) -> u16 {
        // const_assert in sf: the offset fits 11 bits.
        u16::try_from(RECEIVE_LIST_OFFSET).unwrap_or(u16::MAX)
    }
}

/// The receive list as every message a server arms carries it, encoded once from a
/// validated [`ReceiveArea`] ([`super::Server::new`]): word 1's mode and
/// [`RECEIVE_LIST_OFFSET`] bits and the C entries' words. Arming (the receive-only
/// message) and re-arming behind a reply are then copies of a few words, with no
/// per-request encoding or checks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Armed {
    word1: u32,
    entries: [u32; ARMED_WORDS_MAX],
    len: usize,
}

/// Words of the longest receive list (13 entries of 2 words).
const ARMED_WORDS_MAX: usize = 2 * RECEIVE_LIST_ENTRY_COUNT_MAX as usize;

impl Armed {
    /// Encodes `area`'s list; Err as [`ReceiveArea::validate`] would for an area whose
    /// entries cannot be encoded.
    pub fn new(area: &ReceiveArea) -> Result<Armed, ReceiveAreaError> {
        let header = MessageHeader {
            receive_list_mode: area.receive_list_mode(),
            receive_list_offset: area.receive_list_offset(),
            ..MessageHeader::default()
        };
        let [_, word1] = header.encode().map_err(|_| ReceiveAreaError::BadEntryCount)?;
        let count = area.entry_count();
        if count > usize::from(RECEIVE_LIST_ENTRY_COUNT_MAX) {
            return Err(ReceiveAreaError::BadEntryCount);
        }
        let mut entries = [0; ARMED_WORDS_MAX];
        for (index, words) in entries.chunks_exact_mut(2).enumerate().take(count) {
            let entry = area.entry(index).ok_or(ReceiveAreaError::BadEntry { index })?;
            words.copy_from_slice(&entry.encode());
        }
        Ok(Armed { word1, entries, len: 2 * count })
    }

    /// Word 1's receive-list bits (mode at 10–13, offset at 20–30); the rest is 0.
    pub fn word1(&self) -> u32 {
        self.word1
    }

    /// The C entries' words, in index order.
    pub fn entries(&self) -> &[u32] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    /// Writes the C entries at [`RECEIVE_LIST_OFFSET`]; Err when `msg` ends before them.
    #[inline]
    pub fn write_list(&self, msg: &mut [u32]) -> Result<(), HipcError> {
        let (needed_words, available_words) = (RECEIVE_LIST_OFFSET + self.len, msg.len());
        let to = msg
            .get_mut(RECEIVE_LIST_OFFSET..needed_words)
            .ok_or(HipcError::BufferTooSmall { needed_words, available_words })?;
        // The single-buffer list (one entry, two words) without a loop.
        if let ([t0, t1], [f0, f1]) = (&mut *to, self.entries()) {
            [*t0, *t1] = [*f0, *f1];
            return Ok(());
        }
        for (to, &from) in to.iter_mut().zip(self.entries()) {
            *to = from;
        }
        Ok(())
    }

    /// Arms the receive list for a receive without a reply, as [`arm`] does: a type-0
    /// header with no descriptors and no raw data, the words up to the list zeroed, the
    /// C entries.
    pub fn arm(&self, msg: &mut [u32]) -> Result<(), HipcError> {
        self.write_list(msg)?;
        if let [w0, w1, rest @ ..] = msg {
            *w0 = 0;
            *w1 = self.word1;
            rest.iter_mut().take(RECEIVE_LIST_OFFSET - 2).for_each(|w| *w = 0);
        }
        Ok(())
    }
}

/// Arms the receive list for a receive without a reply: a type-0 header with no
/// descriptors and no raw data, this area's mode at [`RECEIVE_LIST_OFFSET`], and the C
/// entries. The words between the header and the list are zeroed.
pub fn arm(msg: &mut [u32], area: &ReceiveArea) -> Result<(), HipcError> {
    let header = MessageHeader {
        receive_list_mode: area.receive_list_mode(),
        receive_list_offset: area.receive_list_offset(),
        ..MessageHeader::default()
    };
    let mut builder = MessageBuilder::new(msg, header, None)?;
    area.write_entries(&mut builder)
}
