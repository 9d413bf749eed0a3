//! The parcel codec: a 0x10-byte header {u32 payload_size, u32 payload_off = 0x10, u32
//! objects_size, u32 objects_off = 0x10 + payload_size}, then the payload in 4-byte slots
//! (libnx `nx/source/display/parcel.c` `parcelTransact`, `parcelWriteData`; Eden
//! `nvnflinger/parcel.h` `ParcelHeader`, `OutputParcel::Serialize`).
//!
//! [`ParcelWriter`] writes into a buffer the caller owns and reports a buffer too small as
//! an error at [`ParcelWriter::finish`]; [`ParcelReader`] checks every bound (a reply is
//! data from another process) and answers an error, never a panic.

use super::{get_u32, put_u32};

/// Bytes of the parcel header.
pub const HEADER_SIZE: usize = 0x10;
/// The parcel buffer libnx uses for requests and replies (`PARCEL_MAX_PAYLOAD`): every
/// request of [`super::producer`] fits, and it is the B buffer size libnx offers for replies.
pub const MAX_PARCEL: usize = 0x400;
/// Bytes of the interface token of [`IGBP_DESCRIPTOR`] (screen-output.md §1d).
pub const INTERFACE_TOKEN_SIZE: usize = 0x50;
/// The strict-mode policy word that opens an interface token (libnx
/// `parcelWriteInterfaceToken`).
pub const STRICT_MODE_POLICY: i32 = 0x100;
/// The producer's interface descriptor (libnx `buffer_producer.c` `g_bq_InterfaceDescriptor`).
pub const IGBP_DESCRIPTOR: &str = "android.gui.IGraphicBufferProducer";

/// Why a parcel could not be written or read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParcelError {
    /// The buffer cannot hold the parcel being written.
    BufferTooSmall,
    /// The reply's header does not fit the reply buffer, or points outside it.
    BadHeader,
    /// The reply carries no payload: the transaction did not happen (Eden with an unknown
    /// binder id, Ryujinx with a bad interface token answer success and leave it empty;
    /// screen-output.md §1d).
    EmptyReply,
    /// A read past the end of the payload, at this payload offset.
    Truncated {
        /// Payload offset of the read.
        at: usize,
    },
    /// A flattened object with file descriptors (neither libnx nor the emulators use any).
    FdsNotSupported,
    /// A flattened object of another size than the type it must hold.
    WrongObjectSize {
        /// The size of the type.
        expected: usize,
        /// The length the parcel gave.
        got: usize,
    },
    /// A text is not what it should be (an interface token that is not UTF-16 ASCII).
    BadToken,
}

/// Writes one parcel: the payload, then [`ParcelWriter::finish`] puts the header in front.
pub struct ParcelWriter<'a> {
    buf: &'a mut [u8],
    /// Payload bytes written.
    len: usize,
    /// A write did not fit.
    overflow: bool,
}

impl<'a> ParcelWriter<'a> {
    /// Starts a parcel in `buf` (the header is written by [`ParcelWriter::finish`]).
    pub fn new(buf: &'a mut [u8]) -> ParcelWriter<'a> {
        let overflow = buf.len() < HEADER_SIZE;
        ParcelWriter { buf, len: 0, overflow }
    }

    /// Payload bytes written so far.
    pub fn payload_len(&self) -> usize {
        self.len
    }

    /// Appends `data`, zero-padded to a multiple of 4 (libnx `parcelWriteData`).
    pub fn write_bytes(&mut self, data: &[u8]) {
        let padded = data.len().next_multiple_of(4);
        let start = HEADER_SIZE + self.len;
        match start.checked_add(padded).and_then(|end| self.buf.get_mut(start..end)) {
            Some(dst) => {
                let (head, pad) = dst.split_at_mut(data.len());
                head.copy_from_slice(data);
                pad.fill(0);
                self.len += padded;
            }
            None => self.overflow = true,
        }
    }

    /// Appends an int32.
    pub fn write_i32(&mut self, v: i32) {
        self.write_bytes(&v.to_le_bytes());
    }

    /// Appends a uint32.
    pub fn write_u32(&mut self, v: u32) {
        self.write_bytes(&v.to_le_bytes());
    }

    /// Appends an interface token: int32 0x100, int32 length in characters, the UTF-16LE
    /// characters and a NUL, padded to 4 (libnx `parcelWriteInterfaceToken`,
    /// `parcelWriteString16`). `name` must be ASCII (each byte becomes one UTF-16 unit, as
    /// libnx does).
    pub fn write_interface_token(&mut self, name: &str) {
        self.write_i32(STRICT_MODE_POLICY);
        self.write_i32(i32::try_from(name.len()).unwrap_or(i32::MAX));
        // Two UTF-16 units (4 bytes) at a time; the NUL ends the last slot.
        let mut units = name.bytes().map(u16::from).chain(core::iter::once(0u16));
        while let Some(a) = units.next() {
            let b = units.next();
            let [a0, a1] = a.to_le_bytes();
            match b {
                Some(b) => {
                    let [b0, b1] = b.to_le_bytes();
                    self.write_bytes(&[a0, a1, b0, b1]);
                }
                None => self.write_bytes(&[a0, a1]),
            }
        }
    }

    /// Appends a flattened object: int32 length, int32 fd count 0, the bytes padded to 4
    /// (libnx `parcelWriteFlattenedObject`).
    pub fn write_flattened(&mut self, object: &[u8]) {
        self.write_i32(i32::try_from(object.len()).unwrap_or(i32::MAX));
        self.write_i32(0);
        self.write_bytes(object);
    }

    /// Appends a nullable object: int32 1 and the flattened object, or int32 0 (Eden
    /// `OutputParcel::WriteFlattenedObject`).
    pub fn write_nullable(&mut self, object: Option<&[u8]>) {
        match object {
            Some(o) => {
                self.write_i32(1);
                self.write_flattened(o);
            }
            None => self.write_i32(0),
        }
    }

    /// Writes the header (no objects) and returns the parcel's length, 0x10 + payload.
    pub fn finish(self) -> Result<usize, ParcelError> {
        if self.overflow {
            return Err(ParcelError::BufferTooSmall);
        }
        let payload = u32::try_from(self.len).map_err(|_| ParcelError::BufferTooSmall)?;
        put_u32(self.buf, 0x0, payload);
        put_u32(self.buf, 0x4, HEADER_SIZE as u32);
        put_u32(self.buf, 0x8, 0);
        put_u32(self.buf, 0xC, HEADER_SIZE as u32 + payload);
        Ok(HEADER_SIZE + self.len)
    }
}

/// Reads the payload of a parcel (a reply, or a request on the server side), with every
/// bound checked.
#[derive(Clone, Debug)]
pub struct ParcelReader<'a> {
    payload: &'a [u8],
    pos: usize,
}

/// An interface token as read: its policy word and its UTF-16LE characters (no NUL).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InterfaceToken<'a> {
    /// The strict-mode policy word (0x100 from libnx).
    pub policy: i32,
    /// The characters, 2 bytes each, little-endian.
    pub utf16: &'a [u8],
}

impl InterfaceToken<'_> {
    /// Whether the token names `name` (ASCII).
    pub fn is(&self, name: &str) -> bool {
        self.utf16.len() == 2 * name.len()
            && self.utf16.chunks_exact(2).zip(name.bytes()).all(|(u, c)| u == [c, 0].as_slice())
    }
}

impl<'a> ParcelReader<'a> {
    /// Checks the header of `parcel` as libnx `parcelTransact` does (payload and objects
    /// inside the buffer) and refuses an empty payload ([`ParcelError::EmptyReply`]).
    pub fn new(parcel: &'a [u8]) -> Result<ParcelReader<'a>, ParcelError> {
        let field = |at| get_u32(parcel, at).map(|v| v as usize).ok_or(ParcelError::BadHeader);
        let (size, off, objects_size, objects_off) = (field(0x0)?, field(0x4)?, field(0x8)?, field(0xC)?);
        let end = off.checked_add(size).ok_or(ParcelError::BadHeader)?;
        let objects_end = objects_off.checked_add(objects_size).ok_or(ParcelError::BadHeader)?;
        if off < HEADER_SIZE || objects_end > parcel.len() {
            return Err(ParcelError::BadHeader);
        }
        let payload = parcel.get(off..end).ok_or(ParcelError::BadHeader)?;
        if payload.is_empty() {
            return Err(ParcelError::EmptyReply);
        }
        Ok(ParcelReader { payload, pos: 0 })
    }

    /// A reader over bare payload bytes (no header).
    pub fn from_payload(payload: &'a [u8]) -> ParcelReader<'a> {
        ParcelReader { payload, pos: 0 }
    }

    /// The whole payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Payload offset of the next read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Payload bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.payload.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes; the position advances by `n` rounded up to 4 (libnx
    /// `parcelReadData`: the padded size must fit too).
    pub fn read_bytes(&mut self, n: usize) -> Result<&'a [u8], ParcelError> {
        let at = self.pos;
        let err = ParcelError::Truncated { at };
        let padded = n.checked_next_multiple_of(4).ok_or(err)?;
        let next = at.checked_add(padded).ok_or(err)?;
        if next > self.payload.len() {
            return Err(err);
        }
        let data = self.payload.get(at..at + n).ok_or(err)?;
        self.pos = next;
        Ok(data)
    }

    /// The next int32.
    pub fn read_i32(&mut self) -> Result<i32, ParcelError> {
        self.read_u32().map(|v| v as i32)
    }

    /// The next uint32.
    pub fn read_u32(&mut self) -> Result<u32, ParcelError> {
        let at = self.pos;
        let b = self.read_bytes(4)?;
        get_u32(b, 0).ok_or(ParcelError::Truncated { at })
    }

    /// A flattened object: int32 length, int32 fd count (must be 0), the bytes (libnx
    /// `parcelReadFlattenedObject`).
    pub fn read_flattened(&mut self) -> Result<&'a [u8], ParcelError> {
        let at = self.pos;
        let len = self.read_i32()?;
        let fds = self.read_i32()?;
        if fds != 0 {
            return Err(ParcelError::FdsNotSupported);
        }
        let len = usize::try_from(len).map_err(|_| ParcelError::Truncated { at })?;
        self.read_bytes(len)
    }

    /// A flattened object that must be `size` bytes long (Eden `InputParcel::ReadFlattened`
    /// asserts the size; libnx `bqDequeueBuffer` checks the fence's).
    pub fn read_flattened_exact(&mut self, size: usize) -> Result<&'a [u8], ParcelError> {
        let o = self.read_flattened()?;
        if o.len() != size {
            return Err(ParcelError::WrongObjectSize { expected: size, got: o.len() });
        }
        Ok(o)
    }

    /// A nullable object: int32 non-null flag, then the flattened object when non-zero.
    pub fn read_nullable(&mut self) -> Result<Option<&'a [u8]>, ParcelError> {
        if self.read_i32()? == 0 { Ok(None) } else { self.read_flattened().map(Some) }
    }

    /// An interface token: int32 policy, int32 length, length + 1 UTF-16 units (the last
    /// the NUL), padded to 4 (Eden `InputParcel::ReadInterfaceToken`).
    pub fn read_interface_token(&mut self) -> Result<InterfaceToken<'a>, ParcelError> {
        let policy = self.read_i32()?;
        let at = self.pos;
        let len = usize::try_from(self.read_i32()?).map_err(|_| ParcelError::BadToken)?;
        let units = len.checked_add(1).and_then(|n| n.checked_mul(2)).ok_or(ParcelError::Truncated { at })?;
        let bytes = self.read_bytes(units)?;
        let (utf16, nul) = bytes.split_at_checked(len * 2).ok_or(ParcelError::BadToken)?;
        if nul != [0, 0] {
            return Err(ParcelError::BadToken);
        }
        Ok(InterfaceToken { policy, utf16 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_igbp_interface_token_is_0x50_bytes() {
        let mut buf = [0xAAu8; 0x100];
        let mut w = ParcelWriter::new(&mut buf);
        w.write_interface_token(IGBP_DESCRIPTOR);
        assert_eq!(w.payload_len(), INTERFACE_TOKEN_SIZE);
        let n = w.finish().unwrap();
        assert_eq!(n, HEADER_SIZE + INTERFACE_TOKEN_SIZE);
        let p = &buf[HEADER_SIZE..n];
        assert_eq!(&p[..8], &[0x00, 0x01, 0, 0, 34, 0, 0, 0]);
        assert_eq!(&p[8..12], b"a\0n\0");
        assert_eq!(&p[0x4A..0x50], &[b'r', 0, 0, 0, 0, 0]);
        let mut r = ParcelReader::new(&buf[..n]).unwrap();
        let t = r.read_interface_token().unwrap();
        assert_eq!(t.policy, 0x100);
        assert!(t.is(IGBP_DESCRIPTOR));
        assert!(!t.is("android.gui.IGraphicBufferConsumer"));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn an_odd_length_token_pads_after_the_nul() {
        let mut buf = [0xAAu8; 0x40];
        let mut w = ParcelWriter::new(&mut buf);
        w.write_interface_token("abc");
        // 8 + (3 + 1) * 2 = 16.
        assert_eq!(w.payload_len(), 16);
        w.write_interface_token("ab");
        // 8 + (2 + 1) * 2 = 14, padded to 16.
        assert_eq!(w.payload_len(), 32);
        let n = w.finish().unwrap();
        assert_eq!(&buf[HEADER_SIZE + 24..HEADER_SIZE + 32], &[b'a', 0, b'b', 0, 0, 0, 0, 0]);
        let mut r = ParcelReader::new(&buf[..n]).unwrap();
        assert!(r.read_interface_token().unwrap().is("abc"));
        assert!(r.read_interface_token().unwrap().is("ab"));
    }

    #[test]
    fn a_buffer_too_small_is_an_error_not_a_panic() {
        let mut buf = [0u8; 0x20];
        let mut w = ParcelWriter::new(&mut buf);
        w.write_interface_token(IGBP_DESCRIPTOR);
        assert_eq!(w.finish(), Err(ParcelError::BufferTooSmall));
        let mut tiny = [0u8; 4];
        assert_eq!(ParcelWriter::new(&mut tiny).finish(), Err(ParcelError::BufferTooSmall));
    }

    #[test]
    fn the_header_counts_the_payload_and_places_the_objects_after_it() {
        let mut buf = [0u8; 0x40];
        let mut w = ParcelWriter::new(&mut buf);
        w.write_i32(-1);
        w.write_bytes(&[1, 2, 3]);
        assert_eq!(w.finish(), Ok(0x18));
        assert_eq!(
            &buf[..0x18],
            &[8, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x18, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 0]
        );
    }

    fn reply(payload: &[u8]) -> ([u8; 0x100], usize) {
        let mut buf = [0u8; 0x100];
        let mut w = ParcelWriter::new(&mut buf);
        w.write_bytes(payload);
        let n = w.finish().unwrap();
        (buf, n)
    }

    #[test]
    fn a_reply_header_pointing_outside_the_buffer_is_refused() {
        let (mut buf, n) = reply(&[1, 0, 0, 0]);
        assert!(ParcelReader::new(&buf[..n]).is_ok());
        // payload_size too large.
        buf[0] = 0xF0;
        assert_eq!(ParcelReader::new(&buf[..n]).unwrap_err(), ParcelError::BadHeader);
        buf[0] = 4;
        // payload_off inside the header, or past the end.
        buf[4] = 4;
        assert_eq!(ParcelReader::new(&buf[..n]).unwrap_err(), ParcelError::BadHeader);
        buf[4] = 0xFF;
        buf[5] = 0xFF;
        buf[6] = 0xFF;
        buf[7] = 0xFF;
        assert_eq!(ParcelReader::new(&buf[..n]).unwrap_err(), ParcelError::BadHeader);
        buf[4..8].copy_from_slice(&[0x10, 0, 0, 0]);
        // Objects past the end.
        buf[8] = 0x40;
        assert_eq!(ParcelReader::new(&buf[..n]).unwrap_err(), ParcelError::BadHeader);
        // Shorter than a header.
        assert_eq!(ParcelReader::new(&buf[..8]).unwrap_err(), ParcelError::BadHeader);
    }

    #[test]
    fn an_empty_reply_means_the_transaction_did_not_happen() {
        let (buf, n) = reply(&[]);
        assert_eq!(ParcelReader::new(&buf[..n]).unwrap_err(), ParcelError::EmptyReply);
        // A zeroed reply buffer (Ryujinx after a bad token).
        assert_eq!(ParcelReader::new(&[0u8; 0x400]).unwrap_err(), ParcelError::BadHeader);
    }

    #[test]
    fn reads_past_the_payload_are_truncated_errors() {
        let (buf, n) = reply(&[7, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
        let mut r = ParcelReader::new(&buf[..n]).unwrap();
        assert_eq!(r.read_i32(), Ok(7));
        // A flattened object of 3 bytes, padded to 4... with fd count 0.
        assert_eq!(r.read_flattened(), Ok(&[1u8, 2, 3][..]));
        assert_eq!(r.read_u32(), Err(ParcelError::Truncated { at: 16 }));
        let mut r = ParcelReader::from_payload(&[0x10, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(r.read_flattened(), Err(ParcelError::Truncated { at: 8 }));
        let mut r = ParcelReader::from_payload(&[4, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(r.read_flattened(), Err(ParcelError::FdsNotSupported));
        let mut r = ParcelReader::from_payload(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]);
        assert_eq!(r.read_flattened(), Err(ParcelError::Truncated { at: 0 }));
        let mut r = ParcelReader::from_payload(&[4, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(r.read_flattened_exact(8), Err(ParcelError::WrongObjectSize { expected: 8, got: 4 }));
        let mut r = ParcelReader::from_payload(&[0, 0, 0, 0]);
        assert_eq!(r.read_nullable(), Ok(None));
        let mut r = ParcelReader::from_payload(&[0x00, 0x01, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F]);
        assert_eq!(r.read_interface_token(), Err(ParcelError::Truncated { at: 8 }));
    }
}
