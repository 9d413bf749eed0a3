//! Reading the buttons from hid's shared memory, without IPC per frame (input.md §4-§6):
//! the layout, the button / style / attribute bits, the newest sample of a lifo (with
//! libnx's torn-read retry), which lifo to read for Handheld and for player 1, and "newly
//! pressed". The memory is reached through [`HidMemory`] (acquire loads on the guest, a byte
//! slice in the tests and the bench); the commands that set it up are in [`cmd`].
//!
//! Layout from libnx `nx/include/switch/services/hid.h` (`HidSharedMemory`,
//! `HidNpadInternalState`, `HidCommonLifoHeader`, `HidNpadCommonState`); Eden asserts the
//! same offsets (`src/hid_core/resources/shared_memory_format.h`). The reader follows libnx
//! `nx/source/services/hid.c` `_hidGetStates` (count 1) and the lifo choice libnx
//! `nx/source/runtime/pad.c` `padUpdate`.
#![forbid(unsafe_code)]

/// Bytes of the shared memory (mapped read-only; `svcMapSharedMemory` size).
pub const SHARED_MEMORY_SIZE: usize = 0x40000;
/// The Npad array in the shared memory.
pub const NPAD_OFFSET: usize = 0x9A00;
/// Bytes of one Npad entry.
pub const NPAD_ENTRY_SIZE: usize = 0x5000;
/// Npad entries: No1..No8, Handheld, Other.
pub const NPAD_ENTRIES: usize = 10;

static_assertions::const_assert!(NPAD_OFFSET + NPAD_ENTRIES * NPAD_ENTRY_SIZE <= SHARED_MEMORY_SIZE);

/// Npad ids (libnx `HidNpadIdType`).
pub mod npad_id {
    /// Player 1.
    pub const NO1: u32 = 0;
    /// Player 8.
    pub const NO8: u32 = 7;
    /// "Other".
    pub const OTHER: u32 = 0x10;
    /// Joy-Cons attached to the console.
    pub const HANDHELD: u32 = 0x20;
}

/// The Npad entry of an id (entry i = No(i+1); Handheld entry 8; Other entry 9; libnx
/// `hid.c` `_hidGetNpadInternalState`), None for an id that has none.
pub const fn npad_entry(id: u32) -> Option<usize> {
    match id {
        0..=npad_id::NO8 => Some(id as usize),
        npad_id::HANDHELD => Some(8),
        npad_id::OTHER => Some(9),
        _ => None,
    }
}

/// Offset of an Npad entry in the shared memory (None past the array).
pub const fn npad_entry_offset(entry: usize) -> Option<usize> {
    if entry < NPAD_ENTRIES { Some(NPAD_OFFSET + entry * NPAD_ENTRY_SIZE) } else { None }
}

/// Offsets inside an Npad entry (`HidNpadInternalState`).
pub mod entry {
    /// u32 style set (bits of [`super::style`]; 0 when nothing is assigned).
    pub const STYLE_SET: usize = 0x0;
    /// Full-key lifo (Pro Controller; libnx also reads GameCube buttons from it).
    pub const FULL_KEY_LIFO: usize = 0x28;
    /// Handheld lifo.
    pub const HANDHELD_LIFO: usize = 0x378;
    /// Joy-Con pair lifo.
    pub const JOY_DUAL_LIFO: usize = 0x6C8;
    /// Left Joy-Con lifo.
    pub const JOY_LEFT_LIFO: usize = 0xA18;
    /// Right Joy-Con lifo.
    pub const JOY_RIGHT_LIFO: usize = 0xD68;
    /// System-ext lifo.
    pub const SYSTEM_EXT_LIFO: usize = 0x1408;
}

/// Offsets inside a lifo (`HidCommonLifoHeader`, then the slots).
pub mod lifo {
    /// Bytes of one lifo.
    pub const SIZE: usize = 0x350;
    /// u64 buffer count (17).
    pub const BUFFER_COUNT: usize = 0x8;
    /// u64 tail: the newest slot.
    pub const TAIL: usize = 0x10;
    /// u64 count: valid slots, 0 before the first sample.
    pub const COUNT: usize = 0x18;
    /// The first slot.
    pub const SLOTS: usize = 0x20;
    /// Slots in a lifo.
    pub const SLOT_COUNT: usize = 17;
    /// Bytes of one slot: the u64 sampling number, then the 0x28-byte state.
    pub const SLOT_SIZE: usize = 0x30;

    static_assertions::const_assert_eq!(SLOTS + SLOT_COUNT * SLOT_SIZE, SIZE);
}

/// Offsets inside a slot (`HidNpadCommonStateAtomicStorage`).
pub mod slot {
    /// u64 sampling number of the slot (read before and after the state).
    pub const SAMPLING_NUMBER: usize = 0x0;
    /// u64 sampling number of the state.
    pub const STATE_SAMPLING_NUMBER: usize = 0x8;
    /// u64 buttons ([`super::Buttons`]).
    pub const BUTTONS: usize = 0x10;
    /// Left stick {s32 x, s32 y}.
    pub const STICK_L: usize = 0x18;
    /// Right stick.
    pub const STICK_R: usize = 0x20;
    /// u32 attributes (bit 0 connected).
    pub const ATTRIBUTES: usize = 0x28;
}

/// Npad style bits (libnx `HidNpadStyleTag`).
pub mod style {
    /// Pro Controller and the like.
    pub const FULL_KEY: u32 = 1 << 0;
    /// Joy-Cons on the console.
    pub const HANDHELD: u32 = 1 << 1;
    /// Joy-Con pair.
    pub const JOY_DUAL: u32 = 1 << 2;
    /// Left Joy-Con alone.
    pub const JOY_LEFT: u32 = 1 << 3;
    /// Right Joy-Con alone.
    pub const JOY_RIGHT: u32 = 1 << 4;
    /// GameCube controller.
    pub const GC: u32 = 1 << 5;
    /// Generic external controller.
    pub const SYSTEM_EXT: u32 = 1 << 29;
    /// The style set the client declares (100 SetSupportedNpadStyleSet): the five standard
    /// styles, as libnx `padConfigureInput` with `HidNpadStyleSet_NpadStandard`.
    pub const STANDARD: u32 = FULL_KEY | HANDHELD | JOY_DUAL | JOY_LEFT | JOY_RIGHT;
}

/// Attribute bit: the controller is connected (libnx `HidNpadAttribute_IsConnected`).
pub const ATTRIBUTE_IS_CONNECTED: u32 = 1 << 0;

/// A button word (libnx `HidNpadButton`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Buttons(pub u64);

impl Buttons {
    /// None.
    pub const NONE: Buttons = Buttons(0);
    /// A, bit 0.
    pub const A: Buttons = Buttons(1 << 0);
    /// B, bit 1.
    pub const B: Buttons = Buttons(1 << 1);
    /// X, bit 2.
    pub const X: Buttons = Buttons(1 << 2);
    /// Y, bit 3.
    pub const Y: Buttons = Buttons(1 << 3);
    /// L, bit 6.
    pub const L: Buttons = Buttons(1 << 6);
    /// R, bit 7.
    pub const R: Buttons = Buttons(1 << 7);
    /// ZL, bit 8.
    pub const ZL: Buttons = Buttons(1 << 8);
    /// ZR, bit 9.
    pub const ZR: Buttons = Buttons(1 << 9);
    /// +, bit 10 (0x400).
    pub const PLUS: Buttons = Buttons(1 << 10);
    /// -, bit 11.
    pub const MINUS: Buttons = Buttons(1 << 11);
    /// D-pad left, bit 12.
    pub const LEFT: Buttons = Buttons(1 << 12);
    /// D-pad up, bit 13.
    pub const UP: Buttons = Buttons(1 << 13);
    /// D-pad right, bit 14.
    pub const RIGHT: Buttons = Buttons(1 << 14);
    /// D-pad down, bit 15.
    pub const DOWN: Buttons = Buttons(1 << 15);
    /// The buttons that leave the report page: + or B (mask 0x402).
    pub const EXIT: Buttons = Buttons(Self::PLUS.0 | Self::B.0);

    /// The buttons down in `cur` that were up in `prev` (libnx `pad.c`: "down" is the new
    /// bits).
    pub const fn newly_pressed(prev: Buttons, cur: Buttons) -> Buttons {
        Buttons(cur.0 & !prev.0)
    }

    /// Whether any button of `mask` is in `self`.
    pub const fn any(self, mask: Buttons) -> bool {
        self.0 & mask.0 != 0
    }

    /// Both words together.
    pub const fn union(self, other: Buttons) -> Buttons {
        Buttons(self.0 | other.0)
    }
}

/// The shared memory, as the reader sees it. On the guest each load is an acquire load
/// from the mapping (the writer is hid on another core, input.md §5); `[u8]` serves the
/// host (little-endian, None past the end).
pub trait HidMemory {
    /// The u64 at `offset` (8-aligned), None outside the memory.
    fn load_u64(&self, offset: usize) -> Option<u64>;
    /// The u32 at `offset` (4-aligned), None outside the memory.
    fn load_u32(&self, offset: usize) -> Option<u32>;
}

impl HidMemory for [u8] {
    fn load_u64(&self, offset: usize) -> Option<u64> {
        let b = self.get(offset..offset.checked_add(8)?)?;
        <[u8; 8]>::try_from(b).ok().map(u64::from_le_bytes)
    }
    fn load_u32(&self, offset: usize) -> Option<u32> {
        let b = self.get(offset..offset.checked_add(4)?)?;
        <[u8; 4]>::try_from(b).ok().map(u32::from_le_bytes)
    }
}

/// One sample of a lifo.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NpadState {
    /// The state's sampling number.
    pub sampling_number: u64,
    /// The buttons down.
    pub buttons: Buttons,
    /// Attribute bits.
    pub attributes: u32,
}

impl NpadState {
    /// Whether the controller of this sample is connected (input.md §5 step 4).
    pub const fn is_connected(&self) -> bool {
        self.attributes & ATTRIBUTE_IS_CONNECTED != 0
    }
}

/// How often a torn read is retried before the poll gives up (the writer takes well under
/// a millisecond per sample, so one retry is nearly always enough).
pub const TORN_READ_RETRIES: usize = 8;

/// The newest sample of the lifo at `lifo_offset` (libnx `_hidGetStates` with count 1):
/// None when `count` is 0 (no sample yet), when the memory does not hold the lifo or its
/// tail is out of range, or when every read of [`TORN_READ_RETRIES`] was torn (the slot's
/// sampling number changed while the state was copied; each retry reads `tail` again).
/// The slot's number is compared only with itself: Eden stores twice the state's number,
/// Ryujinx the same (input.md §5).
pub fn latest_sample(mem: &(impl HidMemory + ?Sized), lifo_offset: usize) -> Option<NpadState> {
    for _ in 0..TORN_READ_RETRIES {
        let count = mem.load_u64(lifo_offset.checked_add(lifo::COUNT)?)?;
        if count == 0 {
            return None;
        }
        let tail = usize::try_from(mem.load_u64(lifo_offset + lifo::TAIL)?).ok()?;
        if tail >= lifo::SLOT_COUNT {
            return None;
        }
        let e = lifo_offset + lifo::SLOTS + lifo::SLOT_SIZE * tail;
        let before = mem.load_u64(e + slot::SAMPLING_NUMBER)?;
        let state = NpadState {
            sampling_number: mem.load_u64(e + slot::STATE_SAMPLING_NUMBER)?,
            buttons: Buttons(mem.load_u64(e + slot::BUTTONS)?),
            attributes: mem.load_u32(e + slot::ATTRIBUTES)?,
        };
        let after = mem.load_u64(e + slot::SAMPLING_NUMBER)?;
        if before == after {
            return Some(state);
        }
    }
    None
}

/// The lifo offset libnx `padUpdate` reads for Npad `id`: for Handheld always the handheld
/// lifo; for any other id the first that the entry's style set names among GameCube (whose
/// buttons are in the full-key lifo), system-ext, full key, Joy-Con pair, left, right;
/// None when the style set is 0 (nothing assigned) or names none of them.
pub fn npad_lifo(mem: &(impl HidMemory + ?Sized), id: u32) -> Option<usize> {
    let base = npad_entry_offset(npad_entry(id)?)?;
    if id == npad_id::HANDHELD {
        return Some(base + entry::HANDHELD_LIFO);
    }
    let styles = mem.load_u32(base + entry::STYLE_SET)?;
    lifo_for_styles(styles).map(|l| base + l)
}

/// The lifo (offset in an entry) for a non-handheld style set, in libnx `padUpdate`'s order.
pub const fn lifo_for_styles(styles: u32) -> Option<usize> {
    if styles & style::GC != 0 {
        Some(entry::FULL_KEY_LIFO)
    } else if styles & style::SYSTEM_EXT != 0 {
        Some(entry::SYSTEM_EXT_LIFO)
    } else if styles & style::FULL_KEY != 0 {
        Some(entry::FULL_KEY_LIFO)
    } else if styles & style::JOY_DUAL != 0 {
        Some(entry::JOY_DUAL_LIFO)
    } else if styles & style::JOY_LEFT != 0 {
        Some(entry::JOY_LEFT_LIFO)
    } else if styles & style::JOY_RIGHT != 0 {
        Some(entry::JOY_RIGHT_LIFO)
    } else {
        None
    }
}

/// The buttons down now: the OR of the newest connected samples of Handheld and player 1
/// (the client's `padConfigureInput(1, standard)`; input.md §5).
pub fn current_buttons(mem: &(impl HidMemory + ?Sized)) -> Buttons {
    let mut b = Buttons::NONE;
    for id in [npad_id::HANDHELD, npad_id::NO1] {
        if let Some(s) = npad_lifo(mem, id).and_then(|l| latest_sample(mem, l))
            && s.is_connected()
        {
            b = b.union(s.buttons);
        }
    }
    b
}

/// Tracks the buttons between polls. The first poll only records the state, so a button
/// still held from hbmenu is no press (input.md §5).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Pad {
    prev: Option<Buttons>,
}

impl Pad {
    /// Nothing seen yet.
    pub const fn new() -> Pad {
        Pad { prev: None }
    }

    /// Reads the buttons and returns those newly pressed since the last poll (none on the
    /// first poll).
    pub fn poll(&mut self, mem: &(impl HidMemory + ?Sized)) -> Buttons {
        self.update(current_buttons(mem))
    }

    /// As [`Pad::poll`], with the buttons already read.
    pub fn update(&mut self, cur: Buttons) -> Buttons {
        let pressed = match self.prev {
            Some(prev) => Buttons::newly_pressed(prev, cur),
            None => Buttons::NONE,
        };
        self.prev = Some(cur);
        pressed
    }
}

/// The hid commands that set the memory up (input.md §2; libnx `hid.c`, `pad.c`
/// `padConfigureInput`). Raw data as the CMIF payload after the SFCI header; every command
/// taking an ARUID also needs the PID in the special header.
pub mod cmd {
    /// hid 0 CreateAppletResource: raw {u64 aruid}, PID -> IAppletResource (move handle).
    pub const CREATE_APPLET_RESOURCE: u32 = 0;
    /// IAppletResource 0 GetSharedMemoryHandle -> copy handle to 0x40000 bytes.
    pub const GET_SHARED_MEMORY_HANDLE: u32 = 0;
    /// hid 100 SetSupportedNpadStyleSet: raw {u32 style set, u32 0, u64 aruid}, PID.
    pub const SET_SUPPORTED_NPAD_STYLE_SET: u32 = 100;
    /// hid 102 SetSupportedNpadIdType: raw {u64 aruid}, PID, X 0 = u32 ids.
    pub const SET_SUPPORTED_NPAD_ID_TYPE: u32 = 102;
    /// hid 103 ActivateNpad (before 5.0.0): raw {u64 aruid}, PID.
    pub const ACTIVATE_NPAD: u32 = 103;
    /// hid 109 ActivateNpadWithRevision: raw {u32 revision, u32 0, u64 aruid}, PID.
    pub const ACTIVATE_NPAD_WITH_REVISION: u32 = 109;
    /// The revision libnx sends from 18.0.0 on.
    pub const NPAD_REVISION: u32 = 5;
    /// The ids the client supports, in libnx's order: No1, Handheld.
    pub const SUPPORTED_IDS: [u32; 2] = [super::npad_id::NO1, super::npad_id::HANDHELD];

    /// {u32 value, u32 0, u64 aruid}: the raw data of 100 and 109.
    pub fn word_and_aruid(value: u32, aruid: u64) -> [u8; 16] {
        let [a, b, c, d] = value.to_le_bytes();
        let [e, f, g, h, i, j, k, l] = aruid.to_le_bytes();
        [a, b, c, d, 0, 0, 0, 0, e, f, g, h, i, j, k, l]
    }

    /// The X buffer of 102: each id as a little-endian u32.
    pub fn id_list(ids: [u32; 2]) -> [u8; 8] {
        let [[a, b, c, d], [e, f, g, h]] = ids.map(u32::to_le_bytes);
        [a, b, c, d, e, f, g, h]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::cell::Cell;

    extern crate alloc;

    /// Writes a sample as Ryujinx's `RingLifo` does (slot number, state, then tail, then
    /// count); `slot_number` lets a test store Eden's doubled number.
    fn write_sample(m: &mut [u8], lifo: usize, tail: usize, count: u64, state_number: u64, buttons: u64, attrs: u32) {
        let e = lifo + lifo::SLOTS + lifo::SLOT_SIZE * tail;
        m[e..e + 8].copy_from_slice(&(state_number * 2).to_le_bytes());
        m[e + 8..e + 16].copy_from_slice(&state_number.to_le_bytes());
        m[e + 0x10..e + 0x18].copy_from_slice(&buttons.to_le_bytes());
        m[e + 0x28..e + 0x2C].copy_from_slice(&attrs.to_le_bytes());
        m[lifo + lifo::TAIL..lifo + lifo::TAIL + 8].copy_from_slice(&(tail as u64).to_le_bytes());
        m[lifo + lifo::COUNT..lifo + lifo::COUNT + 8].copy_from_slice(&count.to_le_bytes());
    }

    fn set_style(m: &mut [u8], entry: usize, styles: u32) {
        let at = npad_entry_offset(entry).unwrap();
        m[at..at + 4].copy_from_slice(&styles.to_le_bytes());
    }

    fn memory() -> Vec<u8> {
        vec![0u8; SHARED_MEMORY_SIZE]
    }

    const HANDHELD_LIFO: usize = 0x31A00 + 0x378;
    const NO1_FULL_KEY_LIFO: usize = 0x9A00 + 0x28;

    #[test]
    fn worked_offsets_of_input_md_5() {
        let m = memory();
        // Handheld: entry 8 at 0x31A00, tail at 0x31D88, buttons at 0x31DA8 + 0x30 * tail.
        assert_eq!(npad_entry_offset(npad_entry(npad_id::HANDHELD).unwrap()), Some(0x31A00));
        let hh = npad_lifo(&m[..], npad_id::HANDHELD).unwrap();
        assert_eq!(hh + lifo::TAIL, 0x31D88);
        assert_eq!(hh + lifo::SLOTS + slot::BUTTONS, 0x31DA8);
        // No1 Pro Controller: tail at 0x9A38, buttons at 0x9A58; Joy-Con pair: 0xA0D8, 0xA0F8.
        let fk = npad_entry_offset(0).unwrap() + lifo_for_styles(style::FULL_KEY).unwrap();
        assert_eq!((fk + lifo::TAIL, fk + lifo::SLOTS + slot::BUTTONS), (0x9A38, 0x9A58));
        let jd = npad_entry_offset(0).unwrap() + lifo_for_styles(style::JOY_DUAL).unwrap();
        assert_eq!((jd + lifo::TAIL, jd + lifo::SLOTS + slot::BUTTONS), (0xA0D8, 0xA0F8));
        assert_eq!(Buttons::EXIT.0, 0x402);
        assert_eq!(npad_entry(npad_id::OTHER), Some(9));
        assert_eq!(npad_entry(8), None);
    }

    #[test]
    fn count_zero_is_no_input() {
        let mut m = memory();
        write_sample(&mut m, HANDHELD_LIFO, 3, 0, 5, Buttons::PLUS.0, ATTRIBUTE_IS_CONNECTED);
        assert_eq!(latest_sample(&m[..], HANDHELD_LIFO), None);
        assert_eq!(current_buttons(&m[..]), Buttons::NONE);
    }

    #[test]
    fn the_newest_sample_is_the_tail_slot() {
        let mut m = memory();
        write_sample(&mut m, HANDHELD_LIFO, 3, 4, 5, Buttons::A.0, ATTRIBUTE_IS_CONNECTED);
        write_sample(&mut m, HANDHELD_LIFO, 4, 5, 6, Buttons::PLUS.0, ATTRIBUTE_IS_CONNECTED);
        let s = latest_sample(&m[..], HANDHELD_LIFO).unwrap();
        assert_eq!((s.sampling_number, s.buttons, s.is_connected()), (6, Buttons::PLUS, true));
        // A tail outside the 17 slots is no sample.
        m[HANDHELD_LIFO + lifo::TAIL] = 17;
        assert_eq!(latest_sample(&m[..], HANDHELD_LIFO), None);
        // A lifo past the end of the memory: None, no panic.
        assert_eq!(latest_sample(&m[..], SHARED_MEMORY_SIZE - 8), None);
        assert_eq!(latest_sample(&m[..], usize::MAX), None);
    }

    /// A memory whose slot number changes between the two reads `torn` times, as if the
    /// writer were storing that slot meanwhile.
    struct Tearing<'a> {
        mem: &'a [u8],
        slot_number_at: usize,
        torn: Cell<usize>,
        reads: Cell<usize>,
    }

    impl HidMemory for Tearing<'_> {
        fn load_u64(&self, offset: usize) -> Option<u64> {
            let v = self.mem.load_u64(offset)?;
            if offset == self.slot_number_at {
                self.reads.set(self.reads.get() + 1);
                // Every second read (the "after" read) differs while tearing.
                if self.reads.get() % 2 == 0 && self.torn.get() > 0 {
                    self.torn.set(self.torn.get() - 1);
                    return Some(v + 2);
                }
            }
            Some(v)
        }
        fn load_u32(&self, offset: usize) -> Option<u32> {
            self.mem.load_u32(offset)
        }
    }

    #[test]
    fn a_torn_read_is_retried() {
        let mut m = memory();
        write_sample(&mut m, HANDHELD_LIFO, 2, 3, 9, Buttons::B.0, ATTRIBUTE_IS_CONNECTED);
        let at = HANDHELD_LIFO + lifo::SLOTS + 2 * lifo::SLOT_SIZE;
        let t = Tearing { mem: &m, slot_number_at: at, torn: Cell::new(2), reads: Cell::new(0) };
        let s = latest_sample(&t, HANDHELD_LIFO).unwrap();
        assert_eq!(s.buttons, Buttons::B);
        assert_eq!(t.reads.get(), 6, "two torn reads, then one clean pair");
        // Torn every time: no sample rather than a mixed one.
        let t = Tearing { mem: &m, slot_number_at: at, torn: Cell::new(usize::MAX), reads: Cell::new(0) };
        assert_eq!(latest_sample(&t, HANDHELD_LIFO), None);
        assert_eq!(t.reads.get(), 2 * TORN_READ_RETRIES);
    }

    #[test]
    fn a_sample_that_is_not_connected_is_ignored() {
        let mut m = memory();
        write_sample(&mut m, HANDHELD_LIFO, 0, 1, 1, Buttons::PLUS.0, 0);
        assert!(!latest_sample(&m[..], HANDHELD_LIFO).unwrap().is_connected());
        assert_eq!(current_buttons(&m[..]), Buttons::NONE);
    }

    #[test]
    fn plus_and_b_are_seen_in_the_handheld_and_the_full_key_lifo() {
        for (button, handheld) in
            [(Buttons::PLUS, true), (Buttons::B, true), (Buttons::PLUS, false), (Buttons::B, false)]
        {
            let mut m = memory();
            let mut pad = Pad::new();
            if !handheld {
                set_style(&mut m, 0, style::FULL_KEY);
            }
            let l = if handheld { HANDHELD_LIFO } else { NO1_FULL_KEY_LIFO };
            write_sample(&mut m, l, 0, 1, 1, 0, ATTRIBUTE_IS_CONNECTED);
            assert_eq!(pad.poll(&m[..]), Buttons::NONE);
            write_sample(&mut m, l, 1, 2, 2, button.0, ATTRIBUTE_IS_CONNECTED);
            let pressed = pad.poll(&m[..]);
            assert_eq!(pressed, button, "handheld {handheld}");
            assert!(pressed.any(Buttons::EXIT));
        }
    }

    #[test]
    fn a_button_held_at_start_is_no_press() {
        let mut m = memory();
        write_sample(&mut m, HANDHELD_LIFO, 0, 1, 1, Buttons::PLUS.0, ATTRIBUTE_IS_CONNECTED);
        let mut pad = Pad::new();
        assert_eq!(pad.poll(&m[..]), Buttons::NONE);
        write_sample(&mut m, HANDHELD_LIFO, 1, 2, 2, Buttons::PLUS.0, ATTRIBUTE_IS_CONNECTED);
        assert_eq!(pad.poll(&m[..]), Buttons::NONE, "still held");
        write_sample(&mut m, HANDHELD_LIFO, 2, 3, 3, 0, ATTRIBUTE_IS_CONNECTED);
        assert_eq!(pad.poll(&m[..]), Buttons::NONE, "released");
        write_sample(&mut m, HANDHELD_LIFO, 3, 4, 4, Buttons::PLUS.0, ATTRIBUTE_IS_CONNECTED);
        assert_eq!(pad.poll(&m[..]), Buttons::PLUS, "pressed again");
    }

    #[test]
    fn player_one_reads_the_lifo_its_style_set_names_first() {
        assert_eq!(lifo_for_styles(0), None);
        assert_eq!(lifo_for_styles(style::HANDHELD), None);
        assert_eq!(lifo_for_styles(style::GC | style::JOY_DUAL), Some(entry::FULL_KEY_LIFO));
        assert_eq!(lifo_for_styles(style::SYSTEM_EXT | style::FULL_KEY), Some(entry::SYSTEM_EXT_LIFO));
        assert_eq!(lifo_for_styles(style::FULL_KEY | style::JOY_DUAL), Some(entry::FULL_KEY_LIFO));
        assert_eq!(lifo_for_styles(style::JOY_DUAL | style::JOY_LEFT), Some(entry::JOY_DUAL_LIFO));
        assert_eq!(lifo_for_styles(style::JOY_LEFT | style::JOY_RIGHT), Some(entry::JOY_LEFT_LIFO));
        assert_eq!(lifo_for_styles(style::JOY_RIGHT), Some(entry::JOY_RIGHT_LIFO));
        // A Joy-Con pair on player 1 (Ryujinx headless): the pair lifo, not the full-key one.
        let mut m = memory();
        set_style(&mut m, 0, style::JOY_DUAL);
        let pair = 0x9A00 + 0x6C8;
        write_sample(&mut m, NO1_FULL_KEY_LIFO, 0, 1, 1, Buttons::A.0, ATTRIBUTE_IS_CONNECTED);
        write_sample(&mut m, pair, 0, 1, 1, Buttons::B.0, ATTRIBUTE_IS_CONNECTED);
        assert_eq!(current_buttons(&m[..]), Buttons::B);
        // No style set: player 1 is not read at all.
        set_style(&mut m, 0, 0);
        assert_eq!(current_buttons(&m[..]), Buttons::NONE);
    }

    #[test]
    fn handheld_and_player_one_are_ored() {
        let mut m = memory();
        set_style(&mut m, 0, style::FULL_KEY);
        write_sample(&mut m, HANDHELD_LIFO, 0, 1, 1, Buttons::A.0, ATTRIBUTE_IS_CONNECTED);
        write_sample(&mut m, NO1_FULL_KEY_LIFO, 0, 1, 1, Buttons::B.0, ATTRIBUTE_IS_CONNECTED);
        assert_eq!(current_buttons(&m[..]), Buttons(Buttons::A.0 | Buttons::B.0));
    }

    #[test]
    fn newly_pressed_is_current_and_not_previous() {
        let prev = Buttons(0b0110);
        let cur = Buttons(0b1100);
        assert_eq!(Buttons::newly_pressed(prev, cur), Buttons(0b1000));
    }

    #[test]
    fn command_raw_data() {
        assert_eq!(cmd::word_and_aruid(cmd::NPAD_REVISION, 0x51), [5, 0, 0, 0, 0, 0, 0, 0, 0x51, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(cmd::word_and_aruid(style::STANDARD, 0)[..4], [0x1F, 0, 0, 0]);
        assert_eq!(cmd::id_list(cmd::SUPPORTED_IDS), [0, 0, 0, 0, 0x20, 0, 0, 0]);
    }
}
