//! The part of the `fsp-srv` interface (the file system proxy) this project uses, defined
//! once for the client's report file and the bench's HLE fsp-srv: command ids per object,
//! argument layouts, the path buffer, open modes. Everything is CMIF (type 4). Ids and
//! layouts as in libnx `source/services/fs.c` (`fsCreateFile`, `fsFileWrite`, ...),
//! which Atmosphère's `fs_i_filesystem.hpp` / `fs_i_file.hpp` interfaces match.
//!
//! Results: [`crate::result::fs`].
#![forbid(unsafe_code)]

use crate::sm::ServiceName;

/// The service's sm name.
pub const SERVICE_NAME: ServiceName = ServiceName::literal("fsp-srv");

/// A path is X descriptor 0 of exactly this many bytes, NUL-terminated, absolute, without
/// a mount name (libnx `FS_MAX_PATH`).
pub const PATH_SIZE: usize = 0x301;

/// IFileSystemProxy (the service's own sessions).
pub mod proxy {
    /// SetCurrentProcess(u64 0) + PID.
    pub const SET_CURRENT_PROCESS: u32 = 1;
    /// OpenSdCardFileSystem() -> IFileSystem (move handle).
    pub const OPEN_SD_CARD_FILE_SYSTEM: u32 = 18;
}

/// IFileSystem.
pub mod file_system {
    /// CreateFile([`super::CreateFileArgs`]) + X path.
    pub const CREATE_FILE: u32 = 0;
    /// DeleteFile() + X path.
    pub const DELETE_FILE: u32 = 1;
    /// CreateDirectory() + X path.
    pub const CREATE_DIRECTORY: u32 = 2;
    /// OpenFile(u32 [`super::open_mode`]) + X path -> IFile (move handle).
    pub const OPEN_FILE: u32 = 8;
}

/// IFile.
pub mod file {
    /// Write([`super::WriteArgs`]) + A buffer (the data).
    pub const WRITE: u32 = 1;
    /// Flush().
    pub const FLUSH: u32 = 2;
}

/// OpenFile's mode bits (libnx `FsOpenMode`).
pub mod open_mode {
    pub const READ: u32 = 1;
    pub const WRITE: u32 = 2;
    /// Writes may extend the file.
    pub const APPEND: u32 = 4;
    /// Every bit a mode may have.
    pub const ALL: u32 = READ | WRITE | APPEND;
}

/// Write's option: flush after writing (libnx `FsWriteOption_Flush`).
pub const WRITE_OPTION_FLUSH: u32 = 1;

/// Copies `field` to `out` at `at` (every caller's field lies inside `out`).
fn put(out: &mut [u8], at: usize, field: &[u8]) {
    if let Some(place) = out.get_mut(at..at + field.len()) {
        place.copy_from_slice(field);
    }
}

/// CreateFile's arguments: `u32 option, u32 pad, s64 size`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CreateFileArgs {
    pub option: u32,
    pub size: i64,
}

impl CreateFileArgs {
    /// Bytes of the arguments.
    pub const SIZE: usize = 16;
    /// Byte of `size`.
    pub const SIZE_OFFSET: usize = 8;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.option.to_le_bytes());
        put(&mut out, Self::SIZE_OFFSET, &self.size.to_le_bytes());
        out
    }
}

/// Write's arguments: `u32 option, u32 pad, s64 offset, s64 size`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct WriteArgs {
    pub option: u32,
    pub offset: i64,
    pub size: i64,
}

impl WriteArgs {
    /// Bytes of the arguments.
    pub const SIZE: usize = 24;
    /// Byte of `offset`.
    pub const OFFSET_OFFSET: usize = 8;
    /// Byte of `size`.
    pub const SIZE_OFFSET: usize = 16;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.option.to_le_bytes());
        put(&mut out, Self::OFFSET_OFFSET, &self.offset.to_le_bytes());
        put(&mut out, Self::SIZE_OFFSET, &self.size.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_file_is_option_pad_then_size_at_8() {
        let b = CreateFileArgs { option: 0, size: 0x1234 }.encode();
        assert_eq!(b, [0, 0, 0, 0, 0, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn write_is_option_pad_offset_at_8_size_at_16() {
        let b = WriteArgs { option: WRITE_OPTION_FLUSH, offset: -1, size: 5 }.encode();
        assert_eq!(b[..8], [1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(b[8..16], [0xFF; 8]);
        assert_eq!(b[16..], [5, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn the_service_is_fsp_srv_and_paths_are_0x301_bytes() {
        assert_eq!(SERVICE_NAME.as_str(), Some("fsp-srv"));
        assert_eq!(PATH_SIZE, 0x301);
        assert_eq!(open_mode::ALL, 7);
    }
}
