//! Raw data: fixed-size little-endian structs in the CMIF payload (the in-data after the
//! SFCI header, the out-data after SFCO), read and written through checked byte slices.
//! A service's structs implement [`RawData`]; the control command's answer is here.
#![forbid(unsafe_code)]

use crate::result::ResultCode;

/// A fixed-size raw-data struct of a protocol, little-endian on the wire.
///
/// `write_to`/`read_from` work on byte slices without `unsafe`; a slice shorter than
/// [`RawData::SIZE`] gives [`crate::result::xcbuf::RAW_DATA_TOO_SHORT`].
pub trait RawData: Sized {
    /// Bytes on the wire (equals `size_of::<Self>()`, asserted at compile time).
    const SIZE: usize;
    /// Writes the struct to the first `SIZE` bytes of `out`.
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode>;
    /// Reads the struct from the first `SIZE` bytes of `bytes`.
    fn read_from(bytes: &[u8]) -> Result<Self, ResultCode>;
}

/// Little-endian field access on byte slices, without indexing.
pub mod le {
    use crate::result::{self, ResultCode};

    const SHORT: ResultCode = result::xcbuf::RAW_DATA_TOO_SHORT;

    fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], ResultCode> {
        let end = at.checked_add(N).ok_or(SHORT)?;
        let slice = bytes.get(at..end).ok_or(SHORT)?;
        <[u8; N]>::try_from(slice).map_err(|_| SHORT)
    }

    fn put<const N: usize>(out: &mut [u8], at: usize, value: [u8; N]) -> Result<(), ResultCode> {
        let end = at.checked_add(N).ok_or(SHORT)?;
        out.get_mut(at..end).ok_or(SHORT)?.copy_from_slice(&value);
        Ok(())
    }

    pub fn u16(bytes: &[u8], at: usize) -> Result<u16, ResultCode> {
        field::<2>(bytes, at).map(u16::from_le_bytes)
    }
    pub fn u32(bytes: &[u8], at: usize) -> Result<u32, ResultCode> {
        field::<4>(bytes, at).map(u32::from_le_bytes)
    }
    pub fn u64(bytes: &[u8], at: usize) -> Result<u64, ResultCode> {
        field::<8>(bytes, at).map(u64::from_le_bytes)
    }
    pub fn put_u16(out: &mut [u8], at: usize, v: u16) -> Result<(), ResultCode> {
        put(out, at, v.to_le_bytes())
    }
    pub fn put_u32(out: &mut [u8], at: usize, v: u32) -> Result<(), ResultCode> {
        put(out, at, v.to_le_bytes())
    }
    pub fn put_u64(out: &mut [u8], at: usize, v: u64) -> Result<(), ResultCode> {
        put(out, at, v.to_le_bytes())
    }
}

/// Out-data of QueryPointerBufferSize (control command 3): the size as a `u16`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct QueryPointerBufferSizeResponse {
    /// Bytes of the pointer buffer.
    pub size: u16,
}

impl RawData for QueryPointerBufferSizeResponse {
    const SIZE: usize = 2;
    fn write_to(&self, out: &mut [u8]) -> Result<(), ResultCode> {
        le::put_u16(out, 0, self.size)
    }
    fn read_from(b: &[u8]) -> Result<Self, ResultCode> {
        Ok(Self { size: le::u16(b, 0)? })
    }
}
