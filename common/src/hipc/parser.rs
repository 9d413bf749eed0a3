//! `Message`: a validated, read-only view of a HIPC message in a message buffer
//! (`horizon-ipc.md` §1–§2).
#![forbid(unsafe_code)]

use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::slice::ChunksExact;

use super::error::HipcError;
use super::header::MessageHeader;
use super::layout::MessageLayout;
use super::map_alias_descriptor::{MAP_ALIAS_DESCRIPTOR_WORDS, MapAliasDescriptor};
use super::pointer_descriptor::{POINTER_DESCRIPTOR_WORDS, PointerDescriptor};
use super::receive_list_entry::{RECEIVE_LIST_ENTRY_WORDS, ReceiveListEntry};
use super::special_header::SpecialHeader;

/// A descriptor type with a fixed number of words, decodable from a slice of exactly
/// that many words.
pub trait WireDescriptor: Sized {
    /// Words per descriptor.
    const WORDS: usize;
    /// Decodes `words` (of length `Self::WORDS`; a shorter slice yields `None`).
    fn from_words(words: &[u32]) -> Option<Self>;
}

impl WireDescriptor for PointerDescriptor {
    const WORDS: usize = POINTER_DESCRIPTOR_WORDS;
    fn from_words(words: &[u32]) -> Option<Self> {
        match words {
            [a, b, ..] => Some(PointerDescriptor::decode([*a, *b])),
            _ => None,
        }
    }
}

impl WireDescriptor for MapAliasDescriptor {
    const WORDS: usize = MAP_ALIAS_DESCRIPTOR_WORDS;
    fn from_words(words: &[u32]) -> Option<Self> {
        match words {
            [a, b, c, ..] => Some(MapAliasDescriptor::decode([*a, *b, *c])),
            _ => None,
        }
    }
}

impl WireDescriptor for ReceiveListEntry {
    const WORDS: usize = RECEIVE_LIST_ENTRY_WORDS;
    fn from_words(words: &[u32]) -> Option<Self> {
        match words {
            [a, b, ..] => Some(ReceiveListEntry::decode([*a, *b])),
            _ => None,
        }
    }
}

/// Iterator over the descriptors of one kind in a parsed message.
#[derive(Clone, Debug)]
pub struct Descriptors<'a, D> {
    chunks: ChunksExact<'a, u32>,
    _kind: PhantomData<D>,
}

impl<'a, D: WireDescriptor> Descriptors<'a, D> {
    fn new(words: &'a [u32]) -> Self {
        Descriptors { chunks: words.chunks_exact(D::WORDS), _kind: PhantomData }
    }
}

impl<D: WireDescriptor> Iterator for Descriptors<'_, D> {
    type Item = D;
    fn next(&mut self) -> Option<D> {
        self.chunks.next().and_then(D::from_words)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl<D: WireDescriptor> ExactSizeIterator for Descriptors<'_, D> {}
impl<D: WireDescriptor> FusedIterator for Descriptors<'_, D> {}

/// A parsed message: every count and size was checked against the buffer before any
/// part was read, so every accessor reads inside the message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    words: &'a [u32],
    layout: MessageLayout,
}

impl<'a> Message<'a> {
    /// Parses the message at the start of `buf` (the TLS buffer is 64 words; any length
    /// works). Err when the buffer cannot hold the header, the special header, or the
    /// whole message up to the end of its receive list (the kernel's
    /// `GetMessageBufferSize ≤ size` check, §3.2), or when a non-zero receive-list offset
    /// lies before the end of the raw data (§2.3).
    pub fn parse(buf: &'a [u32]) -> Result<Message<'a>, HipcError> {
        let [w0, w1, ..] = *buf else {
            return Err(HipcError::BufferTooSmall { needed_words: 2, available_words: buf.len() });
        };
        let header = MessageHeader::decode([w0, w1]);
        let special = if header.has_special_header {
            let Some(&w) = buf.get(2) else {
                return Err(HipcError::BufferTooSmall { needed_words: 3, available_words: buf.len() });
            };
            Some(SpecialHeader::decode(w))
        } else {
            None
        };
        let layout = MessageLayout::new(header, special);
        layout.check_receive_list_offset()?;
        layout.check_fits(buf.len())?;
        let words = buf.get(..layout.message_size_words()).ok_or(HipcError::BufferTooSmall {
            needed_words: layout.message_size_words(),
            available_words: buf.len(),
        })?;
        Ok(Message { words, layout })
    }

    /// The header (words 0 and 1).
    pub fn header(&self) -> MessageHeader {
        self.layout.header()
    }

    /// The special header, if the message has one.
    pub fn special_header(&self) -> Option<SpecialHeader> {
        self.layout.special_header()
    }

    /// The layout (word indices of every part).
    pub fn layout(&self) -> &MessageLayout {
        &self.layout
    }

    /// The message's words, receive list included.
    pub fn words(&self) -> &'a [u32] {
        self.words
    }

    /// Message size in bytes, receive list included.
    pub fn size_bytes(&self) -> usize {
        self.layout.message_size_bytes()
    }

    fn range(&self, start: usize, len: usize) -> &'a [u32] {
        // Every range the layout yields lies inside `message_size_words`, which `parse`
        // checked; `get` keeps that true even if a future change breaks it.
        self.words.get(start..start + len).unwrap_or(&[])
    }

    /// The pid slot (low word first), if HasProcessId is set.
    pub fn process_id(&self) -> Option<u64> {
        let at = self.layout.process_id_idx()?;
        match self.range(at, 2) {
            [lo, hi] => Some(*lo as u64 | (*hi as u64) << 32),
            _ => None,
        }
    }

    /// The copy handles.
    pub fn copy_handles(&self) -> &'a [u32] {
        self.range(self.layout.copy_handle_idx(), self.layout.copy_handle_count())
    }

    /// The move handles.
    pub fn move_handles(&self) -> &'a [u32] {
        self.range(self.layout.move_handle_idx(), self.layout.move_handle_count())
    }

    /// The X descriptors, in slot order.
    pub fn pointer_descriptors(&self) -> Descriptors<'a, PointerDescriptor> {
        let n = self.header().pointer_count as usize;
        Descriptors::new(self.range(self.layout.pointer_idx(), POINTER_DESCRIPTOR_WORDS * n))
    }

    /// X descriptor in slot `index`.
    pub fn pointer_descriptor(&self, index: usize) -> Option<PointerDescriptor> {
        self.pointer_descriptors().nth(index)
    }

    /// The A descriptors.
    pub fn send_buffers(&self) -> Descriptors<'a, MapAliasDescriptor> {
        let n = self.header().send_count as usize;
        Descriptors::new(self.range(self.layout.send_idx(), MAP_ALIAS_DESCRIPTOR_WORDS * n))
    }

    /// The B descriptors.
    pub fn receive_buffers(&self) -> Descriptors<'a, MapAliasDescriptor> {
        let n = self.header().receive_count as usize;
        Descriptors::new(self.range(self.layout.receive_idx(), MAP_ALIAS_DESCRIPTOR_WORDS * n))
    }

    /// The W descriptors.
    pub fn exchange_buffers(&self) -> Descriptors<'a, MapAliasDescriptor> {
        let n = self.header().exchange_count as usize;
        Descriptors::new(self.range(self.layout.exchange_idx(), MAP_ALIAS_DESCRIPTOR_WORDS * n))
    }

    /// The raw data words.
    pub fn raw(&self) -> &'a [u32] {
        self.range(self.layout.raw_idx(), self.layout.raw_count())
    }

    /// The C entries of the receive list. On a server these words were not written by
    /// the kernel (§3.2: the client's C entries never reach the server).
    pub fn receive_list(&self) -> Descriptors<'a, ReceiveListEntry> {
        let n = self.layout.recv_list_entry_count();
        Descriptors::new(self.range(self.layout.recv_list_idx(), RECEIVE_LIST_ENTRY_WORDS * n))
    }
}
