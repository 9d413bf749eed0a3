//! `MessageBuilder`: writes a HIPC message into a message buffer (`horizon-ipc.md` §1–§2).
#![forbid(unsafe_code)]

use super::error::{Field, HipcError, Slot};
use super::header::{MessageHeader, ReceiveListMode};
use super::layout::MessageLayout;
use super::map_alias_descriptor::{MAP_ALIAS_DESCRIPTOR_WORDS, MapAliasDescriptor};
use super::pointer_descriptor::{POINTER_DESCRIPTOR_WORDS, PointerDescriptor};
use super::receive_list_entry::{RECEIVE_LIST_ENTRY_WORDS, ReceiveListEntry};
use super::special_header::SpecialHeader;

/// Writes one message into `buf`. [`MessageBuilder::new`] writes the header words, the
/// special header and zeroes every other word of the message (descriptor slots, raw data,
/// receive list), so no stale bytes of an earlier message survive; the `set_*` methods fill
/// the slots the header declared and fail (never panic) for a slot it did not declare.
#[derive(Debug)]
pub struct MessageBuilder<'a> {
    buf: &'a mut [u32],
    layout: MessageLayout,
}

/// A whole message described by slices; counts are taken from the slice lengths.
/// Used by [`MessageBuilder::from_spec`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MessageSpec<'s> {
    /// Word 0 bits 0–15.
    pub tag: u16,
    /// Sets HasProcessId and writes this value into the pid slot (the kernel replaces it).
    pub process_id: Option<u64>,
    /// Copy handles.
    pub copy_handles: &'s [u32],
    /// Move handles.
    pub move_handles: &'s [u32],
    /// X descriptors.
    pub pointers: &'s [PointerDescriptor],
    /// A descriptors.
    pub sends: &'s [MapAliasDescriptor],
    /// B descriptors.
    pub receives: &'s [MapAliasDescriptor],
    /// W descriptors.
    pub exchanges: &'s [MapAliasDescriptor],
    /// Raw data size in words (contents are written through the raw window afterwards).
    pub raw_count: u16,
    /// Receive-list mode.
    pub receive_list_mode: ReceiveListMode,
    /// Receive-list offset in words (0 = after the raw data).
    pub receive_list_offset: u16,
    /// C entries: exactly as many as the mode needs.
    pub receive_list: &'s [ReceiveListEntry],
}

/// A slice length as a 4-bit count, or FieldOverflow.
fn count4(field: Field, len: usize) -> Result<u8, HipcError> {
    match u8::try_from(len) {
        Ok(n) if n <= 15 => Ok(n),
        _ => Err(HipcError::FieldOverflow { field, value: len as u64, max: 15 }),
    }
}

impl<'a> MessageBuilder<'a> {
    /// Starts a message. Err when a header field does not fit, `has_special_header`
    /// disagrees with `special`, a non-zero receive-list offset lies inside the message, or
    /// the message (receive list included) does not fit `buf`.
    pub fn new(
        buf: &'a mut [u32],
        header: MessageHeader,
        special: Option<SpecialHeader>,
    ) -> Result<MessageBuilder<'a>, HipcError> {
        if header.has_special_header != special.is_some() {
            return Err(HipcError::SpecialHeaderMismatch);
        }
        let [word0, word1] = header.encode()?;
        let special_word = match special {
            Some(s) => Some(s.encode()?),
            None => None,
        };
        let layout = MessageLayout::new(header, special);
        layout.check_receive_list_offset()?;
        layout.check_fits(buf.len())?;
        let (needed_words, available_words) = (layout.message_size_words(), buf.len());
        let message = buf.get_mut(..needed_words).ok_or(HipcError::BufferTooSmall { needed_words, available_words })?;
        message.fill(0);
        // check_fits: the message has at least the two header words (and the special
        // header word when there is one).
        if let [w0, w1, rest @ ..] = message {
            *w0 = word0;
            *w1 = word1;
            if let (Some(w), Some(slot)) = (special_word, rest.first_mut()) {
                *slot = w;
            }
        }
        Ok(MessageBuilder { buf, layout })
    }

    /// Builds a whole message from `spec`: header, special header (written only when a
    /// pid or handles are given, as libnx does, §1.3), special data, descriptors and the
    /// receive list. Raw data is left zero for the caller to fill via [`Self::raw_mut`].
    pub fn from_spec(buf: &'a mut [u32], spec: &MessageSpec<'_>) -> Result<MessageBuilder<'a>, HipcError> {
        let special = SpecialHeader {
            send_pid: spec.process_id.is_some(),
            copy_handle_count: count4(Field::CopyHandleCount, spec.copy_handles.len())?,
            move_handle_count: count4(Field::MoveHandleCount, spec.move_handles.len())?,
        };
        let expected = spec.receive_list_mode.entry_count();
        if spec.receive_list.len() != expected {
            return Err(HipcError::ReceiveListLengthMismatch { given: spec.receive_list.len(), expected });
        }
        let header = MessageHeader {
            tag: spec.tag,
            pointer_count: count4(Field::PointerCount, spec.pointers.len())?,
            send_count: count4(Field::SendCount, spec.sends.len())?,
            receive_count: count4(Field::ReceiveCount, spec.receives.len())?,
            exchange_count: count4(Field::ExchangeCount, spec.exchanges.len())?,
            raw_count: spec.raw_count,
            receive_list_mode: spec.receive_list_mode,
            receive_list_offset: spec.receive_list_offset,
            has_special_header: special.is_needed(),
        };
        let special = if special.is_needed() { Some(special) } else { None };
        let mut b = MessageBuilder::new(buf, header, special)?;
        if let Some(pid) = spec.process_id {
            b.set_process_id(pid)?;
        }
        for (i, &h) in spec.copy_handles.iter().enumerate() {
            b.set_copy_handle(i, h)?;
        }
        for (i, &h) in spec.move_handles.iter().enumerate() {
            b.set_move_handle(i, h)?;
        }
        for (i, d) in spec.pointers.iter().enumerate() {
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
        for (i, e) in spec.receive_list.iter().enumerate() {
            b.set_receive_list_entry(i, e)?;
        }
        Ok(b)
    }

    /// The message's layout.
    pub fn layout(&self) -> &MessageLayout {
        &self.layout
    }

    /// Message size in bytes (receive list included).
    pub fn message_size_bytes(&self) -> usize {
        self.layout.message_size_bytes()
    }

    /// Writes `words` at `start + index * words.len()` after checking `index < count`.
    fn put(&mut self, slot: Slot, start: usize, count: usize, index: usize, words: &[u32]) -> Result<(), HipcError> {
        if index >= count {
            return Err(HipcError::SlotOutOfRange { slot, index, count });
        }
        // index < count and the layout fits the buffer, so this range lies in the message.
        let at = start + index * words.len();
        let to = self.buf.get_mut(at..at + words.len()).ok_or(HipcError::SlotOutOfRange { slot, index, count })?;
        to.copy_from_slice(words);
        Ok(())
    }

    /// Writes the 8-byte pid slot (low word first). Err unless HasProcessId is set.
    pub fn set_process_id(&mut self, pid: u64) -> Result<(), HipcError> {
        let Some(at) = self.layout.process_id_idx() else {
            return Err(HipcError::SlotOutOfRange { slot: Slot::ProcessId, index: 0, count: 0 });
        };
        self.put(Slot::ProcessId, at, 1, 0, &[pid as u32, (pid >> 32) as u32])
    }

    /// Writes copy handle `index`.
    pub fn set_copy_handle(&mut self, index: usize, handle: u32) -> Result<(), HipcError> {
        let (start, count) = (self.layout.copy_handle_idx(), self.layout.copy_handle_count());
        self.put(Slot::CopyHandle, start, count, index, &[handle])
    }

    /// Writes move handle `index`.
    pub fn set_move_handle(&mut self, index: usize, handle: u32) -> Result<(), HipcError> {
        let (start, count) = (self.layout.move_handle_idx(), self.layout.move_handle_count());
        self.put(Slot::MoveHandle, start, count, index, &[handle])
    }

    /// Writes X descriptor `index` (slot order, not the descriptor's own index field).
    pub fn set_pointer_descriptor(&mut self, index: usize, d: &PointerDescriptor) -> Result<(), HipcError> {
        let (start, count) = (self.layout.pointer_idx(), self.layout.header().pointer_count as usize);
        let words: [u32; POINTER_DESCRIPTOR_WORDS] = d.encode();
        self.put(Slot::Pointer, start, count, index, &words)
    }

    /// Writes A descriptor `index`.
    pub fn set_send_buffer(&mut self, index: usize, d: &MapAliasDescriptor) -> Result<(), HipcError> {
        let (start, count) = (self.layout.send_idx(), self.layout.header().send_count as usize);
        let words: [u32; MAP_ALIAS_DESCRIPTOR_WORDS] = d.encode();
        self.put(Slot::Send, start, count, index, &words)
    }

    /// Writes B descriptor `index`.
    pub fn set_receive_buffer(&mut self, index: usize, d: &MapAliasDescriptor) -> Result<(), HipcError> {
        let (start, count) = (self.layout.receive_idx(), self.layout.header().receive_count as usize);
        self.put(Slot::Receive, start, count, index, &d.encode())
    }

    /// Writes W descriptor `index`.
    pub fn set_exchange_buffer(&mut self, index: usize, d: &MapAliasDescriptor) -> Result<(), HipcError> {
        let (start, count) = (self.layout.exchange_idx(), self.layout.header().exchange_count as usize);
        self.put(Slot::Exchange, start, count, index, &d.encode())
    }

    /// Writes C entry `index` of the receive list.
    pub fn set_receive_list_entry(&mut self, index: usize, e: &ReceiveListEntry) -> Result<(), HipcError> {
        let (start, count) = (self.layout.recv_list_idx(), self.layout.recv_list_entry_count());
        let words: [u32; RECEIVE_LIST_ENTRY_WORDS] = e.encode();
        self.put(Slot::ReceiveList, start, count, index, &words)
    }

    /// The raw-data window (`raw_count` words at `raw_idx`).
    pub fn raw_mut(&mut self) -> &mut [u32] {
        let start = self.layout.raw_idx();
        // The layout was checked to fit the buffer (new), so the window is never empty
        // for a non-zero raw count.
        self.buf.get_mut(start..start + self.layout.raw_count()).unwrap_or_default()
    }

    /// Ends building and returns the raw-data window.
    pub fn into_raw(self) -> &'a mut [u32] {
        let start = self.layout.raw_idx();
        let end = start + self.layout.raw_count();
        self.buf.get_mut(start..end).unwrap_or_default()
    }

    /// Ends building and returns the whole message buffer (the raw window starts at word
    /// `layout.raw_idx()`, which is needed for CMIF's 16-byte alignment, §6.3).
    pub fn into_buffer(self) -> (&'a mut [u32], MessageLayout) {
        (self.buf, self.layout)
    }
}
