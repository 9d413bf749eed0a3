//! Horizon result codes (`horizon-ipc.md` §0 "Conventions" and §8).
//!
//! A result's raw value is `module | (description << 9)`: the module sits in bits 0–8
//! (9 bits) and the description in bits 9–21 (13 bits) (AMS-RES `results_common.hpp`).
//! Raw value 0 is success.
//!
//! Named constants live in one submodule per Horizon module, named after the module:
//! [`kernel`] (module 1), [`fs`] (module 2), [`cmif`] (module 10, `sf::cmif`), [`hipc`] (module 11,
//! `sf::hipc`) and [`xcbuf`] (module [`xcbuf::MODULE`] = 427, this project's own).
//! Example: `result::kernel::OUT_OF_RESOURCE` is `0xce01`.
#![forbid(unsafe_code)]

use core::fmt;

use crate::text::{self, FmtSink, Sink};

/// Bits of the module field (AMS-RES `results_common.hpp`: ModuleBits = 9).
pub const MODULE_BITS: u32 = 9;
/// Bits of the description field (AMS-RES `results_common.hpp`: DescriptionBits = 13).
pub const DESCRIPTION_BITS: u32 = 13;
/// Largest valid module number.
pub const MODULE_MAX: u32 = (1 << MODULE_BITS) - 1;
/// Largest valid description number.
pub const DESCRIPTION_MAX: u32 = (1 << DESCRIPTION_BITS) - 1;

/// A Horizon `Result` value (`horizon-ipc.md` §0: `module | description << 9`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResultCode(u32);

impl ResultCode {
    /// Success (raw value 0).
    pub const SUCCESS: ResultCode = ResultCode(0);

    /// Builds `module | description << 9`.
    ///
    /// Meant for constants: a module above 511 or a description above 8191 does not fit
    /// the format and stops compilation when evaluated in a `const` (and panics at run
    /// time). Use [`ResultCode::try_new`] for values that come from outside.
    // The panic is a compile error in every `const` this crate defines, and no caller passes
    // a value that comes from a message (those use `try_new` / `from_raw`).
    #[allow(clippy::panic)]
    pub const fn new(module: u32, description: u32) -> ResultCode {
        match ResultCode::try_new(module, description) {
            Some(rc) => rc,
            None => panic!("result module must fit 9 bits and description 13 bits"),
        }
    }

    /// Like [`ResultCode::new`], but returns `None` when a field does not fit.
    pub const fn try_new(module: u32, description: u32) -> Option<ResultCode> {
        if module > MODULE_MAX || description > DESCRIPTION_MAX {
            return None;
        }
        Some(ResultCode(module | (description << MODULE_BITS)))
    }

    /// Wraps a raw value as returned by an svc or found in an SFCO header.
    pub const fn from_raw(raw: u32) -> ResultCode {
        ResultCode(raw)
    }

    /// The raw 32-bit value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Module number (bits 0–8).
    pub const fn module(self) -> u32 {
        self.0 & MODULE_MAX
    }

    /// Description number (bits 9–21).
    pub const fn description(self) -> u32 {
        (self.0 >> MODULE_BITS) & DESCRIPTION_MAX
    }

    /// True for raw value 0.
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }

    /// True for any non-zero value.
    pub const fn is_failure(self) -> bool {
        self.0 != 0
    }

    /// `Ok(())` on success, `Err(self)` otherwise.
    pub const fn into_result(self) -> Result<(), ResultCode> {
        if self.is_success() { Ok(()) } else { Err(self) }
    }

    /// The module's name, if it is one this crate knows.
    pub const fn module_name(self) -> Option<&'static str> {
        match self.module() {
            kernel::MODULE => Some("kernel"),
            fs::MODULE => Some("fs"),
            cmif::MODULE => Some("sf::cmif"),
            hipc::MODULE => Some("sf::hipc"),
            sm::MODULE => Some("sm"),
            xcbuf::MODULE => Some("xcbuf"),
            _ => None,
        }
    }

    /// The description's name, if the code is one of this crate's named constants.
    pub fn name(self) -> Option<&'static str> {
        let table = match self.module() {
            kernel::MODULE => kernel::PACKED,
            fs::MODULE => fs::PACKED,
            cmif::MODULE => cmif::PACKED,
            hipc::MODULE => hipc::PACKED,
            sm::MODULE => sm::PACKED,
            xcbuf::MODULE => xcbuf::PACKED,
            _ => return None,
        };
        table.find(self.description())
    }
}

impl From<ResultCode> for u32 {
    fn from(rc: ResultCode) -> u32 {
        rc.0
    }
}

impl ResultCode {
    /// Writes the code's text without `core::fmt` (the sysmodule's log lines, [`crate::text`]):
    /// e.g. `0xce01 (kernel OutOfResource)`; an unknown code shows its numbers, e.g.
    /// `0x2a03 (module 3, description 21)`; success shows `0x0 (success)`.
    #[inline(never)] // one copy: log paths are cold, and the sysmodule counts its bytes
    pub fn write_text(self, sink: &mut dyn Sink) {
        // Piece by piece, without a slice of pieces: this runs at the bottom of the log
        // path, so it keeps its frame small.
        text::put_hex(sink, u64::from(self.0));
        if self.is_success() {
            return sink.put(" (success)");
        }
        match self.module_name() {
            Some(module) => {
                sink.put(" (");
                sink.put(module);
                match self.name() {
                    Some(name) => {
                        sink.put(" ");
                        sink.put(name);
                    }
                    None => {
                        sink.put(" description ");
                        text::put_dec(sink, u64::from(self.description()));
                    }
                }
            }
            None => {
                sink.put(" (module ");
                text::put_dec(sink, u64::from(self.module()));
                sink.put(", description ");
                text::put_dec(sink, u64::from(self.description()));
            }
        }
        sink.put(")");
    }
}

/// The text of [`ResultCode::write_text`].
impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FmtSink::with(f, |sink| self.write_text(sink))
    }
}

impl fmt::Debug for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResultCode({})", self)
    }
}

macro_rules! result_table {
    ($module:expr; $( $(#[$doc:meta])* $name:ident = $desc:expr => $text:literal, )*) => {
        /// Module number of this namespace.
        pub const MODULE: u32 = $module;
        $( $(#[$doc])* pub const $name: ResultCode = ResultCode::new(MODULE, $desc); )*
        /// Every named code of this module with its name.
        pub const NAMES: &[(ResultCode, &str)] = &[ $( ($name, $text), )* ];
        /// The same names, packed for `Display` ([`super::PackedNames`]).
        pub(crate) const PACKED: super::PackedNames = super::PackedNames {
            text: concat!($($text),*),
            descriptions: &[$($desc),*],
            lengths: &[$($text.len() as u8),*],
        };
    };
}

/// A module's names as one string and, per name, its description and length: no pointer
/// per name, so no relocation per name in a binary that shows result codes (the
/// sysmodule's log lines; a table of `&str` costs 48 bytes of `.data.rel.ro` and
/// `.rela.dyn` per name).
pub(crate) struct PackedNames {
    text: &'static str,
    descriptions: &'static [u16],
    lengths: &'static [u8],
}

impl PackedNames {
    /// The name of `description`, if the module has one.
    // Inlined on purpose: as a call it would need the six tables as statics of three
    // pointers each, 18 relocations.
    fn find(&self, description: u32) -> Option<&'static str> {
        let mut start = 0usize;
        for (&d, &len) in self.descriptions.iter().zip(self.lengths) {
            let end = start + usize::from(len);
            if u32::from(d) == description {
                return self.text.get(start..end);
            }
            start = end;
        }
        None
    }
}

/// Kernel (svc) results, module 1 (`horizon-ipc.md` §8; names from AMS-RES).
pub mod kernel {
    use super::ResultCode;
    result_table! { 1;
        /// 0xe01: port full on connect.
        OUT_OF_SESSIONS = 7 => "OutOfSessions",
        /// 0x7601: thread terminating.
        TERMINATION_REQUESTED = 59 => "TerminationRequested",
        /// 0xca01: user buffer size invalid.
        INVALID_SIZE = 101 => "InvalidSize",
        /// 0xcc01: user buffer not page-aligned.
        INVALID_ADDRESS = 102 => "InvalidAddress",
        /// 0xce01: no receive-list space for an X (mode 0, single-buffer overflow, bad
        /// index, entry too small or empty); slab exhaustion.
        OUT_OF_RESOURCE = 103 => "OutOfResource",
        /// 0xd001.
        OUT_OF_MEMORY = 104 => "OutOfMemory",
        /// 0xd201: handle table full while translating handles.
        OUT_OF_HANDLES = 105 => "OutOfHandles",
        /// 0xd401: X source or C destination memory invalid; user buffer wraps.
        INVALID_CURRENT_MEMORY = 106 => "InvalidCurrentMemory",
        /// 0xe401: bad session / reply target / copy or move handle.
        INVALID_HANDLE = 114 => "InvalidHandle",
        /// 0xe601: bad handle-array pointer.
        INVALID_POINTER = 115 => "InvalidPointer",
        /// 0xe801: header does not fit the buffer; bad receive-list offset; client move
        /// handles; reply with A/B/W; map attribute 2.
        INVALID_COMBINATION = 116 => "InvalidCombination",
        /// 0xea01: ReplyAndReceive timeout.
        TIMED_OUT = 117 => "TimedOut",
        /// 0xec01: CancelSynchronization.
        CANCELLED = 118 => "Cancelled",
        /// 0xee01: handle count > 0x40; port name / max_sessions.
        OUT_OF_RANGE = 119 => "OutOfRange",
        /// 0xf201: nothing to receive; name not found; nothing to accept.
        NOT_FOUND = 121 => "NotFound",
        /// 0xf601: peer closed.
        SESSION_CLOSED = 123 => "SessionClosed",
        /// 0xfa01: reply with no current request.
        INVALID_STATE = 125 => "InvalidState",
        /// 0x10601.
        PORT_CLOSED = 131 => "PortClosed",
        /// 0x10801: session resource limit.
        LIMIT_REACHED = 132 => "LimitReached",
        /// 0x20401: receive failed after overwriting the server's receive list.
        RECEIVE_LIST_BROKEN = 258 => "ReceiveListBroken",
        /// 0x20601: map-alias mapping.
        OUT_OF_ADDRESS_SPACE = 259 => "OutOfAddressSpace",
        /// 0x20801: destination buffer smaller than the source message end.
        MESSAGE_TOO_LARGE = 260 => "MessageTooLarge",
    }
}

/// File system (`fsp-srv`) results, module 2: the ones the client's report file and the
/// bench's HLE fsp-srv meet (Atmosphère
/// `libraries/libvapours/include/vapours/results/fs_results.hpp` names and values).
pub mod fs {
    use super::ResultCode;
    result_table! { 2;
        /// 0x202.
        PATH_NOT_FOUND = 1 => "PathNotFound",
        /// 0x402.
        PATH_ALREADY_EXISTS = 2 => "PathAlreadyExists",
        /// 0x2ee202: a required argument (the A buffer) is missing.
        INVALID_ARGUMENT = 6001 => "InvalidArgument",
        /// 0x2ee602: no NUL inside the path's 0x301 bytes.
        TOO_LONG_PATH = 6003 => "TooLongPath",
        /// 0x2ee802: path bytes that are not UTF-8.
        INVALID_CHARACTER = 6004 => "InvalidCharacter",
        /// 0x2eea02: not absolute, a mount name, an empty / `.` / `..` component, or a
        /// path X descriptor that is missing or not 0x301 bytes.
        INVALID_PATH_FORMAT = 6005 => "InvalidPathFormat",
        /// 0x2f5a02.
        INVALID_OFFSET = 6061 => "InvalidOffset",
        /// 0x2f5c02: negative, larger than the A buffer, or past the size the server keeps.
        INVALID_SIZE = 6062 => "InvalidSize",
        /// 0x2f7002.
        INVALID_OPEN_MODE = 6072 => "InvalidOpenMode",
        /// 0x307202: a write past the end of a file not opened with Append.
        FILE_EXTENSION_WITHOUT_OPEN_MODE_ALLOW_APPEND = 6201 => "FileExtensionWithoutOpenModeAllowAppend",
        /// 0x307602: a write to a file not opened with Write.
        WRITE_NOT_PERMITTED = 6203 => "WriteNotPermitted",
    }
}

/// `sf::cmif` results, module 10 (`horizon-ipc.md` §8, §6.2).
pub mod cmif {
    use super::ResultCode;
    result_table! { 10;
        /// 0x1940a: CMIF view too small for the in header.
        INVALID_HEADER_SIZE = 202 => "InvalidHeaderSize",
        /// 0x1a60a: bad SFCI magic or version.
        INVALID_IN_HEADER = 211 => "InvalidInHeader",
        /// 0x1ba0a: no such command id.
        UNKNOWN_COMMAND_ID = 221 => "UnknownCommandId",
        /// 0x20a0a: domain object not found.
        TARGET_NOT_FOUND = 261 => "TargetNotFound",
    }
}

/// `sf::hipc` results, module 11 (`horizon-ipc.md` §8, §5.1).
pub mod hipc {
    use super::ResultCode;
    result_table! { 11;
        /// 0x11a0b: the pointer buffer cannot hold the in-X data plus the out-pointers.
        POINTER_BUFFER_TOO_SMALL = 141 => "PointerBufferTooSmall",
        /// 0x25a0b.
        SESSION_CLOSED = 301 => "SessionClosed",
        /// 0x3240b: raw data shorter than 0x10 bytes or outside the buffer.
        INVALID_REQUEST_SIZE = 402 => "InvalidRequestSize",
        /// 0x3260b: HIPC type is not a CMIF request/control/close type.
        UNKNOWN_COMMAND_TYPE = 403 => "UnknownCommandType",
        /// 0x3480b: descriptor counts or raw size do not match the command.
        INVALID_CMIF_REQUEST = 420 => "InvalidCmifRequest",
    }
}

/// Service manager (`sm:`) results, module 21, as Atmosphère's sm returns them
/// (Atmosphère `libraries/libvapours/include/vapours/results/sm_results.hpp`;
/// `stratosphere/sm/source/impl/sm_service_manager.cpp` says where each arises).
pub mod sm {
    use super::ResultCode;
    result_table! { 21;
        /// 0x415: the session did not send RegisterClient (or sent DetachClient since).
        INVALID_CLIENT = 2 => "InvalidClient",
        /// 0x615: GetServiceHandle found the service's port full: sm converts the
        /// kernel's OutOfSessions 0xe01 into this (`GetServiceHandle`, `R_CONVERT`).
        OUT_OF_SESSIONS = 3 => "OutOfSessions",
        /// 0x815: RegisterService of a name already registered.
        ALREADY_REGISTERED = 4 => "AlreadyRegistered",
        /// 0xa15: sm's service table is full.
        OUT_OF_SERVICES = 5 => "OutOfServices",
        /// 0xc15: empty name, or non-zero bytes after its end (`ValidateServiceName`).
        INVALID_SERVICE_NAME = 6 => "InvalidServiceName",
        /// 0xe15: UnregisterService of a name not registered.
        NOT_REGISTERED = 7 => "NotRegistered",
        /// 0x1015: the process's access control does not allow it, or it does not own the
        /// service it unregisters.
        NOT_ALLOWED = 8 => "NotAllowed",
    }
}

/// The xcbuf project's own results, module 427 (0x1AB: fits the 9-bit module field and
/// is not one of the modules above). Each code says who returns it. Descriptions are never
/// reused: a number once given keeps its meaning (the gaps are codes that were never
/// returned). rt's own failures use descriptions from 100 up (`rt/src/result.rs`).
pub mod xcbuf {
    use super::ResultCode;
    result_table! { 427;
        /// 0x7ab: a raw-data struct read from or written to fewer bytes than it has
        /// (`sf::RawData`; the server checks the raw size before, with
        /// `hipc::INVALID_CMIF_REQUEST`).
        RAW_DATA_TOO_SHORT = 3 => "RawDataTooShort",
        /// 0xbab: Split's `at` lies past the end of its input (the xcbuf service's reply).
        BAD_SPLIT_POINT = 5 => "BadSplitPoint",
        /// 0x13ab: a message could not be encoded or decoded: the codec's encoding errors
        /// (`hipc::HipcError::result`, `cmif::CmifError::result`) and a request or reply
        /// of the client's report file that does not fit.
        MALFORMED_MESSAGE = 9 => "MalformedMessage",
        /// 0x15ab: the client got a reply that does not match its request (bad SFCO
        /// header, too short; `client::ClientError::result`).
        UNEXPECTED_REPLY = 10 => "UnexpectedReply",
        /// 0x1bab: an X descriptor with a non-zero size that does not lie inside the
        /// server's pointer buffer (the framework's reply, `sf::X_OUTSIDE_POINTER_BUFFER`;
        /// the kernel never delivers one).
        X_OUTSIDE_POINTER_BUFFER = 13 => "XOutsidePointerBuffer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed names `Display` reads give every named code exactly its table name.
    #[test]
    fn packed_names_give_each_code_its_table_name() {
        for table in [kernel::NAMES, fs::NAMES, cmif::NAMES, hipc::NAMES, sm::NAMES, xcbuf::NAMES] {
            for &(rc, name) in table {
                assert_eq!(rc.name(), Some(name), "{:#x}", rc.raw());
            }
        }
        assert_eq!(ResultCode::new(1, 1).name(), None);
    }

    #[test]
    fn constants_have_the_raw_values_of_section_8() {
        let expected: &[(ResultCode, u32)] = &[
            (kernel::OUT_OF_SESSIONS, 0xe01),
            (kernel::TERMINATION_REQUESTED, 0x7601),
            (kernel::INVALID_SIZE, 0xca01),
            (kernel::INVALID_ADDRESS, 0xcc01),
            (kernel::OUT_OF_RESOURCE, 0xce01),
            (kernel::OUT_OF_MEMORY, 0xd001),
            (kernel::OUT_OF_HANDLES, 0xd201),
            (kernel::INVALID_CURRENT_MEMORY, 0xd401),
            (kernel::INVALID_HANDLE, 0xe401),
            (kernel::INVALID_POINTER, 0xe601),
            (kernel::INVALID_COMBINATION, 0xe801),
            (kernel::TIMED_OUT, 0xea01),
            (kernel::CANCELLED, 0xec01),
            (kernel::OUT_OF_RANGE, 0xee01),
            (kernel::NOT_FOUND, 0xf201),
            (kernel::SESSION_CLOSED, 0xf601),
            (kernel::INVALID_STATE, 0xfa01),
            (kernel::PORT_CLOSED, 0x10601),
            (kernel::LIMIT_REACHED, 0x10801),
            (kernel::RECEIVE_LIST_BROKEN, 0x20401),
            (kernel::OUT_OF_ADDRESS_SPACE, 0x20601),
            (kernel::MESSAGE_TOO_LARGE, 0x20801),
            (hipc::POINTER_BUFFER_TOO_SMALL, 0x11a0b),
            (hipc::INVALID_REQUEST_SIZE, 0x3240b),
            (hipc::UNKNOWN_COMMAND_TYPE, 0x3260b),
            (hipc::INVALID_CMIF_REQUEST, 0x3480b),
            (hipc::SESSION_CLOSED, 0x25a0b),
            (cmif::INVALID_HEADER_SIZE, 0x1940a),
            (cmif::INVALID_IN_HEADER, 0x1a60a),
            (cmif::UNKNOWN_COMMAND_ID, 0x1ba0a),
            (cmif::TARGET_NOT_FOUND, 0x20a0a),
            (fs::PATH_NOT_FOUND, 0x202),
            (fs::PATH_ALREADY_EXISTS, 0x402),
            (fs::INVALID_ARGUMENT, 0x2ee202),
            (fs::TOO_LONG_PATH, 0x2ee602),
            (fs::INVALID_CHARACTER, 0x2ee802),
            (fs::INVALID_PATH_FORMAT, 0x2eea02),
            (fs::INVALID_OFFSET, 0x2f5a02),
            (fs::INVALID_SIZE, 0x2f5c02),
            (fs::INVALID_OPEN_MODE, 0x2f7002),
            (fs::FILE_EXTENSION_WITHOUT_OPEN_MODE_ALLOW_APPEND, 0x307202),
            (fs::WRITE_NOT_PERMITTED, 0x307602),
            (xcbuf::RAW_DATA_TOO_SHORT, 0x7ab),
            (xcbuf::BAD_SPLIT_POINT, 0xbab),
            (xcbuf::MALFORMED_MESSAGE, 0x13ab),
            (xcbuf::UNEXPECTED_REPLY, 0x15ab),
            (xcbuf::X_OUTSIDE_POINTER_BUFFER, 0x1bab),
        ];
        for &(rc, raw) in expected {
            assert_eq!(rc.raw(), raw, "{rc}");
        }
        assert_eq!(kernel::NAMES.len(), 22);
    }
}
