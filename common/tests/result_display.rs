//! `ResultCode` formatting and field split (`horizon-ipc.md` §0, §8).

use xcbuf_common::result::{self, ResultCode};

#[test]
fn display_names_known_codes() {
    assert_eq!(result::kernel::OUT_OF_RESOURCE.to_string(), "0xce01 (kernel OutOfResource)");
    assert_eq!(result::kernel::SESSION_CLOSED.to_string(), "0xf601 (kernel SessionClosed)");
    assert_eq!(result::hipc::POINTER_BUFFER_TOO_SMALL.to_string(), "0x11a0b (sf::hipc PointerBufferTooSmall)");
    assert_eq!(result::cmif::UNKNOWN_COMMAND_ID.to_string(), "0x1ba0a (sf::cmif UnknownCommandId)");
    assert_eq!(result::xcbuf::BAD_SPLIT_POINT.to_string(), "0xbab (xcbuf BadSplitPoint)");
}

/// The server's reply for an X outside its pointer buffer has a code of its own, not the
/// codec's MalformedMessage, so a report names which of the two happened.
#[test]
fn x_outside_the_pointer_buffer_is_not_the_codecs_malformed_message() {
    use xcbuf_common::sf::X_OUTSIDE_POINTER_BUFFER;
    assert_eq!(X_OUTSIDE_POINTER_BUFFER.to_string(), "0x1bab (xcbuf XOutsidePointerBuffer)");
    assert_ne!(X_OUTSIDE_POINTER_BUFFER, result::xcbuf::MALFORMED_MESSAGE);
}

/// Every named code of a module has a value of its own (a name shown for a code is then
/// the only one it can be).
#[test]
fn no_two_names_of_a_module_share_a_code() {
    use result::{cmif, fs, hipc, kernel, sm, xcbuf};
    for table in [kernel::NAMES, cmif::NAMES, hipc::NAMES, sm::NAMES, fs::NAMES, xcbuf::NAMES] {
        for (i, (a, name)) in table.iter().enumerate() {
            for (b, other) in &table[i + 1..] {
                assert_ne!(a, b, "{name} and {other} share {a}");
            }
        }
    }
}

#[test]
fn display_prints_numbers_for_unknown_codes() {
    assert_eq!(ResultCode::new(3, 21).to_string(), "0x2a03 (module 3, description 21)");
    assert_eq!(ResultCode::new(1, 1).to_string(), "0x201 (kernel description 1)");
    assert_eq!(ResultCode::SUCCESS.to_string(), "0x0 (success)");
    assert_eq!(format!("{:?}", result::kernel::OUT_OF_RESOURCE), "ResultCode(0xce01 (kernel OutOfResource))");
}

/// §0: module in bits 0–8, description in bits 9–21.
#[test]
fn module_and_description_split_at_bit_9() {
    let rc = ResultCode::from_raw(0xce01);
    assert_eq!((rc.module(), rc.description()), (1, 103));
    assert_eq!(ResultCode::new(511, 8191).raw(), 0x3F_FFFF);
    assert_eq!(ResultCode::try_new(512, 0), None);
    assert_eq!(ResultCode::try_new(0, 8192), None);
    assert_eq!(result::xcbuf::MODULE, 427);
    assert!(ResultCode::SUCCESS.is_success());
    assert!(!result::kernel::NOT_FOUND.is_success());
    assert_eq!(result::kernel::NOT_FOUND.into_result(), Err(result::kernel::NOT_FOUND));
}
