//! Android parcels as the display server reads and writes them, written for the bench
//! from the servers' source (not shared with the client's `common::binder`, so the bench
//! checks the client independently).
//!
//! - Layout: a 16-byte header {u32 data_size, u32 data_offset, u32 objects_size, u32
//!   objects_offset}, then the data; every value takes 4-byte slots (Eden
//!   `nvnflinger/parcel.h` `InputParcel::Read` aligns the index to 4 after each value,
//!   `OutputParcel::Serialize` lays out header, data, objects).
//! - The reader works on the data the header names (Ryujinx `SurfaceFlinger/Parcel.cs`
//!   takes the payload slice from the header); anything past it, or a header that points
//!   outside the buffer, is an error, never a panic (Eden asserts, Ryujinx throws).

use std::fmt;

/// Size of the parcel header.
pub const HEADER_SIZE: usize = 0x10;

/// Why a parcel could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParcelError(pub String);

impl fmt::Display for ParcelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(what: impl Into<String>) -> Result<T, ParcelError> {
    Err(ParcelError(what.into()))
}

/// Reads a request parcel.
pub struct ParcelReader<'a> {
    data: &'a [u8],
    at: usize,
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> ParcelReader<'a> {
    /// The data of the parcel in `bytes` (header checked).
    pub fn new(bytes: &'a [u8]) -> Result<ParcelReader<'a>, ParcelError> {
        let (Some(size), Some(offset)) = (word(bytes, 0), word(bytes, 4)) else {
            return err(format!("parcel of {} bytes: no header", bytes.len()));
        };
        let (size, offset) = (size as usize, offset as usize);
        let Some(data) = offset.checked_add(size).and_then(|end| bytes.get(offset..end)) else {
            return err(format!("parcel header names data {offset:#x}+{size:#x} outside the {:#x} bytes", bytes.len()));
        };
        Ok(ParcelReader { data, at: 0 })
    }

    /// Bytes of data not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.at)
    }

    /// The next 4-byte slot as a u32.
    pub fn u32(&mut self) -> Result<u32, ParcelError> {
        let Some(v) = word(self.data, self.at) else {
            return err(format!("parcel read past its data at {:#x} (data size {:#x})", self.at, self.data.len()));
        };
        self.at += 4;
        Ok(v)
    }

    pub fn i32(&mut self) -> Result<i32, ParcelError> {
        self.u32().map(|v| v as i32)
    }

    /// `len` raw bytes, then the index aligned to 4.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], ParcelError> {
        let Some(b) = self.at.checked_add(len).and_then(|end| self.data.get(self.at..end)) else {
            return err(format!("parcel read of {len:#x} bytes past its data at {:#x}", self.at));
        };
        self.at = (self.at + len).next_multiple_of(4);
        Ok(b)
    }

    /// The interface token: i32 strict-mode policy, i32 length in UTF-16 units, the units
    /// and a NUL unit, padded to 4 (Eden `InputParcel::ReadInterfaceToken`; Ryujinx
    /// `Parcel.ReadInterfaceToken`).
    pub fn interface_token(&mut self) -> Result<String, ParcelError> {
        let _policy = self.u32()?;
        let len = self.u32()? as usize;
        if len > 0x100 {
            return err(format!("interface token of {len} characters"));
        }
        let raw = self.bytes((len + 1) * 2)?;
        let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take(len).collect();
        Ok(String::from_utf16_lossy(&units))
    }

    /// A flattened object: i64 of {i32 length, i32 fd count}, which must be exactly
    /// {`len`, 0} (Eden `ReadFlattened` asserts the s64 equals the struct size; Ryujinx
    /// `ReadFlattened` the same in debug), then the bytes.
    pub fn flattened(&mut self, len: usize) -> Result<&'a [u8], ParcelError> {
        let (size, fds) = (self.i32()?, self.i32()?);
        if size as usize != len || fds != 0 {
            return err(format!("flattened object of {size:#x} bytes and {fds} fds, expected {len:#x} and 0"));
        }
        self.bytes(len)
    }

    /// A nullable flattened object: the present flag (Eden `ReadObject` reads a bool: one
    /// byte, then the slot's alignment to 4, so only the low byte counts), then the
    /// object when present.
    pub fn nullable_flattened(&mut self, len: usize) -> Result<Option<&'a [u8]>, ParcelError> {
        match self.u32()? & 0xFF {
            0 => Ok(None),
            _ => self.flattened(len).map(Some),
        }
    }
}

/// Writes a reply parcel.
#[derive(Default)]
pub struct ParcelWriter {
    data: Vec<u8>,
    objects: Vec<u8>,
}

impl ParcelWriter {
    pub fn new() -> ParcelWriter {
        ParcelWriter::default()
    }

    pub fn u32(&mut self, v: u32) -> &mut ParcelWriter {
        self.data.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut ParcelWriter {
        self.u32(v as u32)
    }

    /// Raw bytes, padded to 4.
    pub fn bytes(&mut self, b: &[u8]) -> &mut ParcelWriter {
        self.data.extend_from_slice(b);
        self.data.resize(self.data.len().next_multiple_of(4), 0);
        self
    }

    /// A present flattened object: i32 1, i64 {len, 0}, the bytes (Eden
    /// `OutputParcel::WriteFlattenedObject`).
    pub fn flattened(&mut self, b: &[u8]) -> &mut ParcelWriter {
        self.u32(1).u32(b.len() as u32).u32(0).bytes(b)
    }

    /// An absent nullable object: i32 0.
    pub fn null(&mut self) -> &mut ParcelWriter {
        self.u32(0)
    }

    /// An interface: its bytes in the data, a 0 word in the objects (Eden
    /// `OutputParcel::WriteInterface`).
    pub fn interface(&mut self, b: &[u8]) -> &mut ParcelWriter {
        self.bytes(b);
        self.objects.extend_from_slice(&0u32.to_le_bytes());
        self
    }

    /// Header, data, objects (Eden `OutputParcel::Serialize`).
    pub fn finish(&self) -> Vec<u8> {
        let data_size = self.data.len() as u32;
        let mut out = Vec::with_capacity(HEADER_SIZE + self.data.len() + self.objects.len());
        for w in [data_size, HEADER_SIZE as u32, self.objects.len() as u32, HEADER_SIZE as u32 + data_size] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.objects);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CONNECT request of screen-output.md §1d (0x6C bytes), written out word by word.
    pub fn connect_request() -> Vec<u8> {
        let mut w: Vec<u32> = vec![0x5c, 0x10, 0, 0x6c, 0x100, 34];
        let token: Vec<u16> = "android.gui.IGraphicBufferProducer".encode_utf16().chain([0, 0]).collect();
        for pair in token.chunks(2) {
            w.push(u32::from(pair[0]) | (u32::from(pair[1]) << 16));
        }
        w.extend([0, 2, 0]);
        w.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn reads_the_documented_connect_request() {
        let bytes = connect_request();
        assert_eq!(bytes.len(), 0x6c);
        let mut r = ParcelReader::new(&bytes).unwrap();
        assert_eq!(r.interface_token().unwrap(), "android.gui.IGraphicBufferProducer");
        assert_eq!((r.i32().unwrap(), r.i32().unwrap(), r.i32().unwrap()), (0, 2, 0));
        assert_eq!(r.remaining(), 0);
        assert!(r.u32().is_err());
    }

    #[test]
    fn a_header_pointing_outside_the_buffer_is_an_error() {
        let mut bytes = connect_request();
        bytes[0] = 0xff;
        assert!(ParcelReader::new(&bytes).is_err());
        assert!(ParcelReader::new(&bytes[..6]).is_err());
    }

    #[test]
    fn flattened_objects_must_have_the_expected_size_and_no_fds() {
        let mut w = ParcelWriter::new();
        w.flattened(&[7u8; 0x24]);
        let bytes = w.finish();
        let mut r = ParcelReader::new(&bytes).unwrap();
        assert_eq!(r.nullable_flattened(0x24).unwrap(), Some(&[7u8; 0x24][..]));
        let mut r = ParcelReader::new(&bytes).unwrap();
        assert!(r.nullable_flattened(0x20).is_err());
    }

    #[test]
    fn writer_lays_out_header_data_and_objects() {
        let mut w = ParcelWriter::new();
        w.interface(&[1u8; 0x28]);
        let bytes = w.finish();
        assert_eq!(bytes.len(), 0x3c);
        assert_eq!(&bytes[..16], &[0x28, 0, 0, 0, 0x10, 0, 0, 0, 4, 0, 0, 0, 0x38, 0, 0, 0]);
    }
}
