//! The 16-byte CMIF headers: "SFCI" in requests, "SFCO" in replies (`horizon-ipc.md` §6.2).

use super::error::CmifError;
use crate::result::ResultCode;

/// "SFCI" (`horizon-ipc.md` §6.2).
pub const IN_HEADER_MAGIC: u32 = 0x4943_4653;
/// "SFCO" (`horizon-ipc.md` §6.2).
pub const OUT_HEADER_MAGIC: u32 = 0x4F43_4653;
/// Size of the in and out headers in bytes.
pub const HEADER_SIZE: usize = 16;
/// Highest in-header version a server accepts (5.0.0+, §6.2).
pub const IN_HEADER_VERSION_MAX: u32 = 1;

/// The "SFCI" in header (NX-CMIF `CmifInHeader`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct InHeader {
    /// 0, or 1 when a token (context) is given.
    pub version: u32,
    /// The command id.
    pub command_id: u32,
    /// The token (context), or 0.
    pub token: u32,
}

impl InHeader {
    /// The four words, magic first.
    pub const fn encode(&self) -> [u32; 4] {
        [IN_HEADER_MAGIC, self.version, self.command_id, self.token]
    }

    /// Decodes and checks the magic and `version ≤ 1` (§6.2), else InvalidInHeader.
    pub const fn decode(words: [u32; 4]) -> Result<InHeader, CmifError> {
        let [magic, version, command_id, token] = words;
        if magic != IN_HEADER_MAGIC || version > IN_HEADER_VERSION_MAX {
            return Err(CmifError::InvalidInHeader { magic, version });
        }
        Ok(InHeader { version, command_id, token })
    }
}

/// The "SFCO" out header (NX-CMIF `CmifOutHeader`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OutHeader {
    /// 0.
    pub version: u32,
    /// The command's result.
    pub result: ResultCode,
    /// libstratosphere writes the interface id here; free for the server.
    pub token: u32,
}

impl OutHeader {
    /// The four words, magic first.
    pub const fn encode(&self) -> [u32; 4] {
        [OUT_HEADER_MAGIC, self.version, self.result.raw(), self.token]
    }

    /// Decodes and checks the magic.
    pub const fn decode(words: [u32; 4]) -> Result<OutHeader, CmifError> {
        let [magic, version, result, token] = words;
        if magic != OUT_HEADER_MAGIC {
            return Err(CmifError::InvalidOutHeader { magic });
        }
        Ok(OutHeader { version, result: ResultCode::from_raw(result), token })
    }
}
