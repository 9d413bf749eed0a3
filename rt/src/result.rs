//! Result codes the runtime itself returns.
//!
//! Kernel results that rt checks for before the kernel would (same values and names as the
//! kernel's, `horizon-ipc.md` §8 numbering: module 1) and the runtime's own failures. The
//! runtime's own codes use the xcbuf module ([`xcbuf_common::result::xcbuf::MODULE`], 427)
//! with descriptions from 100 up, kept clear of the protocol's codes (1-99) in
//! `xcbuf_common::result::xcbuf`; their names say what failed and are not the names of
//! Horizon results with other values.
#![forbid(unsafe_code)]

pub use xcbuf_common::result::ResultCode;
use xcbuf_common::result::xcbuf;

/// Kernel InvalidPriority (module 1, description 112 = 0xe001): a thread priority outside
/// 28-59 (emulator-bench.md §1 "CreateThread limits": the range that starts everywhere).
pub const INVALID_PRIORITY: ResultCode = ResultCode::new(1, 112);
/// Kernel InvalidCoreId (module 1, description 113 = 0xe201): a core other than 0-2 or -2.
pub const INVALID_CORE_ID: ResultCode = ResultCode::new(1, 113);

/// An abort before any Rust code ran (bad relocation table, user-exception entry); the
/// value hbloader gets back when the entry returns to it.
pub const EARLY_ABORT: ResultCode = ResultCode::new(xcbuf::MODULE, 100);
/// The loader config has a key with the Mandatory flag that rt does not understand
/// (formats.md §1.5), or is malformed (no EndOfList within the limit, bad value).
pub const BAD_LOADER_CONFIG: ResultCode = ResultCode::new(xcbuf::MODULE, 101);
/// A Rust panic: what a program launched by hbloader returns after the panic message.
pub const PANICKED: ResultCode = ResultCode::new(xcbuf::MODULE, 102);
/// No heap could be set up (svcSetHeapSize failed, size overflow, empty region).
pub const HEAP_INIT_FAILED: ResultCode = ResultCode::new(xcbuf::MODULE, 103);
// 104 was a client-side invalid service name; `ServiceName::new` answers sm's own
// InvalidServiceName (0xc15) now.
/// An sm reply did not have the expected layout (header, magic, handle count).
pub const BAD_SM_REPLY: ResultCode = ResultCode::new(xcbuf::MODULE, 105);
/// A size, count or index does not fit the register or field it must go into (not the
/// kernel's OutOfRange, 0xee01).
pub const DOES_NOT_FIT: ResultCode = ResultCode::new(xcbuf::MODULE, 106);
/// An allocation failed: a thread's stack or start block, a server's pointer buffer (not
/// the kernel's OutOfMemory, 0xd001).
pub const ALLOCATION_FAILED: ResultCode = ResultCode::new(xcbuf::MODULE, 107);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_codes_are_module_427_from_description_100() {
        assert_eq!(EARLY_ABORT.raw(), 427 | (100 << 9));
        assert_eq!(INVALID_PRIORITY.raw(), 0xe001);
        assert_eq!(INVALID_CORE_ID.raw(), 0xe201);
    }
}
