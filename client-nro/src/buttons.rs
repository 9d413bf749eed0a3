//! The latest buttons in hid's shared memory (input.md §4, §5), read through an accessor
//! (`offset -> u64`, the mapping's acquire loads on the Switch, a byte array in the tests):
//! the Handheld entry's handheld lifo and the No1 entry's lifo for its style, the newest
//! sample of each (torn copies retried), connected samples only, ORed (libnx `pad.c`
//! `padUpdate`, `hid.c` `_hidGetStates`).

/// Size of the shared memory (libnx `hidInitialize`: 0x40000).
pub const SHARED_MEMORY_SIZE: usize = 0x40000;
/// NpadIdType No1 and Handheld.
pub const NPAD_ID_NO1: u32 = 0;
pub const NPAD_ID_HANDHELD: u32 = 0x20;
/// Button bits: B (1) and Plus (10) (libnx `HidNpadButton`).
pub const BUTTON_B: u64 = 1 << 1;
pub const BUTTON_PLUS: u64 = 1 << 10;

const NPAD: usize = 0x9A00;
const ENTRY_SIZE: usize = 0x5000;
const HANDHELD_ENTRY: usize = 8;
/// Lifos in an NpadInternalState.
const FULL_KEY: usize = 0x28;
const HANDHELD: usize = 0x378;
const JOY_DUAL: usize = 0x6C8;
const JOY_LEFT: usize = 0xA18;
const JOY_RIGHT: usize = 0xD68;
const SYSTEM_EXT: usize = 0x1408;
/// Lifo header: tail at 0x10, count at 0x18; 17 storage entries of 0x30 from 0x20; in an
/// entry: slot sampling number at 0, buttons at 0x10, attributes at 0x28.
const ENTRIES: u64 = 17;
const ATTRIBUTE_IS_CONNECTED: u64 = 1;

/// The buttons of the newest connected sample of the lifo at `lifo`, if any.
fn latest(read: &dyn Fn(usize) -> u64, lifo: usize) -> Option<u64> {
    if read(lifo + 0x18) as i64 <= 0 {
        return None;
    }
    for _ in 0..4 {
        let tail = read(lifo + 0x10);
        if tail >= ENTRIES {
            return None;
        }
        let entry = lifo + 0x20 + 0x30 * tail as usize;
        let before = read(entry);
        let buttons = read(entry + 0x10);
        let attributes = read(entry + 0x28);
        if read(entry) == before {
            return (attributes & ATTRIBUTE_IS_CONNECTED != 0).then_some(buttons);
        }
    }
    None
}

/// The lifo of player 1 for its style set (input.md §5 "Which lifo").
fn no1_lifo(style_set: u32) -> Option<usize> {
    let bit = |b: u32| style_set & (1 << b) != 0;
    let lifo = if bit(5) || bit(0) {
        FULL_KEY
    } else if bit(29) {
        SYSTEM_EXT
    } else if bit(2) {
        JOY_DUAL
    } else if bit(3) {
        JOY_LEFT
    } else if bit(4) {
        JOY_RIGHT
    } else {
        return None;
    };
    Some(NPAD + lifo)
}

/// The buttons held now on the handheld and on player 1.
pub fn held(read: &dyn Fn(usize) -> u64) -> u64 {
    let handheld = latest(read, NPAD + HANDHELD_ENTRY * ENTRY_SIZE + HANDHELD).unwrap_or(0);
    let style_set = read(NPAD) as u32;
    let no1 = no1_lifo(style_set).and_then(|l| latest(read, l)).unwrap_or(0);
    handheld | no1
}

/// Whether + or B went down between two reads.
pub fn exit_pressed(previous: u64, current: u64) -> bool {
    current & !previous & (BUTTON_PLUS | BUTTON_B) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    fn memory(words: &[(usize, u64)]) -> HashMap<usize, u64> {
        words.iter().copied().collect()
    }

    fn reader(m: &HashMap<usize, u64>) -> impl Fn(usize) -> u64 + '_ {
        move |o| m.get(&o).copied().unwrap_or(0)
    }

    #[test]
    fn handheld_plus_is_read_at_the_worked_example_offsets() {
        // input.md §5: tail at 0x31D88, count at 0x31D90, buttons at 0x31DA8 + 0x30 * tail,
        // attributes at 0x31DC0 + 0x30 * tail.
        let m = memory(&[(0x31D88, 2), (0x31D90, 3), (0x31DA8 + 0x60, BUTTON_PLUS), (0x31DC0 + 0x60, 1)]);
        assert_eq!(held(&reader(&m)), BUTTON_PLUS);
    }

    #[test]
    fn pro_controller_b_is_read_from_no1_full_key_and_a_disconnected_sample_is_ignored() {
        let m = memory(&[(0x9A00, 1), (0x9A38, 0), (0x9A40, 1), (0x9A58, BUTTON_B), (0x9A70, 1)]);
        assert_eq!(held(&reader(&m)), BUTTON_B);
        let m = memory(&[(0x9A00, 1), (0x9A38, 0), (0x9A40, 1), (0x9A58, BUTTON_B), (0x9A70, 0)]);
        assert_eq!(held(&reader(&m)), 0);
    }

    #[test]
    fn count_zero_is_no_input_and_no_style_skips_player_1() {
        let m = memory(&[(0x31D88, 0), (0x31D90, 0), (0x31DA8, BUTTON_PLUS), (0x31DC0, 1)]);
        assert_eq!(held(&reader(&m)), 0);
        let m = memory(&[(0x9A00, 0), (0x9A40, 1), (0x9A58, BUTTON_B), (0x9A70, 1)]);
        assert_eq!(held(&reader(&m)), 0);
    }

    #[test]
    fn a_torn_read_is_retried() {
        // The slot's sampling number changes between the two reads once.
        let reads = RefCell::new(0);
        let read = |o: usize| -> u64 {
            match o {
                0x31D88 => 0,
                0x31D90 => 1,
                0x31DA8 => BUTTON_PLUS,
                0x31DC0 => 1,
                0x31D98 => {
                    *reads.borrow_mut() += 1;
                    u64::from(*reads.borrow() > 1) // 0, 1, 1, 1: the first copy torn, the second not
                }
                _ => 0,
            }
        };
        assert_eq!(held(&read), BUTTON_PLUS);
        assert_eq!(*reads.borrow(), 4);
    }

    #[test]
    fn a_key_held_from_the_start_is_not_a_press() {
        assert!(!exit_pressed(BUTTON_PLUS, BUTTON_PLUS));
        assert!(exit_pressed(0, BUTTON_PLUS));
        assert!(exit_pressed(BUTTON_PLUS, BUTTON_PLUS | BUTTON_B));
        assert!(!exit_pressed(0, 1));
    }
}
