//! The protocol's wire facts: service names, raw struct layouts (little-endian at the
//! documented offsets), and the receive-list offset rule.

use xcbuf_common::result::xcbuf::RAW_DATA_TOO_SHORT;
use xcbuf_common::xcbuf::*;

#[test]
fn the_services_are_xcbuf_and_xcbuf_i_in_registration_order() {
    assert_eq!(SERVICES.map(|s| s.name), ["xcbuf", "xcbuf:i"]);
    assert_eq!([SINGLE.name, INDEXED.name], ["xcbuf", "xcbuf:i"]);
}

#[test]
fn command_ids_match_the_design_table() {
    let ids: Vec<u32> = Command::ALL.iter().map(|c| c.id()).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
    assert_eq!(Command::from_id(2), Some(Command::Concat));
    assert_eq!(Command::from_id(5), None);
    assert_eq!(CONTROL_QUERY_POINTER_BUFFER_SIZE, 3);
    let row = |c: Command| COMMANDS.iter().find(|r| r.id == c.id()).unwrap();
    assert_eq!(row(Command::Concat).in_x, (1, 8));
    assert_eq!(row(Command::Split).out_c, 2);
}

#[test]
fn stats_response_is_little_endian_at_its_documented_offsets() {
    let s = StatsResponse {
        requests: 0x0102_0304_0506_0708,
        bytes_in: 0x11,
        bytes_out: 0x22,
        open_sessions: 0x33,
        total_sessions: 0x44,
        errors: 0x55,
        pointer_buffer_high_water: 0x800,
        reserved: 0,
    };
    let mut bytes = [0xAAu8; 48];
    s.write_to(&mut bytes).unwrap();
    assert_eq!(&bytes[0..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(bytes[8], 0x11);
    assert_eq!(bytes[16], 0x22);
    assert_eq!(bytes[24], 0x33);
    assert_eq!(bytes[28], 0x44);
    assert_eq!(bytes[32], 0x55);
    assert_eq!(&bytes[40..44], &[0, 8, 0, 0]);
    assert_eq!(StatsResponse::read_from(&bytes).unwrap(), s);
}

#[test]
fn concat_response_offsets_follow_bytes_written() {
    let mut r = ConcatResponse { bytes_written: 0xEB, ..ConcatResponse::default() };
    r.offsets[..3].copy_from_slice(&[0x08, 0x28, 0x48]);
    let mut bytes = [0u8; 36];
    r.write_to(&mut bytes).unwrap();
    assert_eq!(&bytes[..12], &[0xEB, 0, 0, 0, 0x08, 0, 0, 0, 0x28, 0, 0, 0]);
    assert_eq!(&bytes[16..20], &[0xFF; 4], "unused slots are NO_OFFSET");
    assert_eq!(ConcatResponse::read_from(&bytes).unwrap(), r);
}

#[test]
fn a_short_slice_is_raw_data_too_short_not_a_panic() {
    assert_eq!(GetInfoResponse::read_from(&[0; 15]), Err(RAW_DATA_TOO_SHORT));
    assert_eq!(SplitRequest { at: 1 }.write_to(&mut [0; 3]), Err(RAW_DATA_TOO_SHORT));
    assert_eq!(StatsResponse::read_from(&[]), Err(RAW_DATA_TOO_SHORT));
}

#[test]
fn receive_list_offset_lies_past_every_reply_and_fits_the_tls_buffer() {
    // emulator-bench.md: offset >= reply raw end and offset*4 + 8*entries <= 0x100.
    for row in &COMMANDS {
        assert!(reply_words(row.reply_x, row.out_raw) <= RECEIVE_LIST_OFFSET, "{}", row.name);
    }
    const { assert!(RECEIVE_LIST_OFFSET * 4 + 8 * INDEXED_ENTRIES.len() <= 0x100) };
    const { assert!(RECEIVE_LIST_OFFSET * 4 + 8 <= 0x100) };
}

#[test]
fn indexed_entries_allow_both_kernel_failures() {
    // Index 3 is past the last entry; 0x41 bytes do not fit entry 2.
    assert_eq!(INDEXED_ENTRIES.len(), 3);
    assert_eq!(INDEXED.receive_mode_raw(), 5);
    assert_eq!(SINGLE.receive_mode_raw(), 2);
    assert_eq!(INDEXED_ENTRIES[2].size, 0x40);
    const { assert!(MAX_CONCAT_POINTERS > INDEXED_ENTRIES.len()) };
}
