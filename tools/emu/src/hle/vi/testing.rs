//! A producer driven from the host, for the bench's tests: a client process (the
//! [`Harness`]) with nvmap memory for two 1280x720 RGBA8888 frames, a layer, and the
//! IGraphicBufferProducer requests libnx sends (`display/buffer_producer.c`,
//! `display/parcel.c`) built here from the documented layouts (screen-output.md §1d), not
//! with the client's `common::binder`.

use super::display::{self, Frame};
use super::parcel::ParcelWriter;
use super::{PRODUCER_TOKEN, ViObject, reply_result};
use crate::hle::HleReply;
use crate::hle::nvmap::NvMapAllocation;
use crate::hle::test_support::{Harness, RequestParts};
use xcbuf_common::result::ResultCode;

/// The test client's pid (its ARUID), owner of the managed layers made here.
pub const OWNER: u64 = 0x80;

/// A request parcel: the IGraphicBufferProducer token, then `args`.
pub fn request_parcel(args: &[u8]) -> Vec<u8> {
    let mut token: Vec<u8> = Vec::new();
    token.extend_from_slice(&0x100u32.to_le_bytes());
    token.extend_from_slice(&34u32.to_le_bytes());
    for u in PRODUCER_TOKEN.encode_utf16().chain([0]) {
        token.extend_from_slice(&u.to_le_bytes());
    }
    let mut w = ParcelWriter::new();
    w.bytes(&token).bytes(args);
    w.finish()
}

pub fn words(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A GBFR for one 1280x720 RGBA8888 block-linear slot (screen-output.md §1d table).
pub fn gbfr(nvmap_id: u32, slot: u32) -> Vec<u8> {
    let mut b = vec![0u8; 0x16C];
    let mut put = |at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    for (at, v) in [
        (0x00, 0x4742_4652),
        (0x04, 1280),
        (0x08, 720),
        (0x0C, 1280),
        (0x10, 1),
        (0x14, 0xB00),
        (0x18, 42),
        (0x24, 81),
        (0x28, u32::MAX),
        (0x2C, nvmap_id),
        (0x34, 0xDAFF_CAFF),
        (0x38, 42),
        (0x40, 0xB00),
        (0x44, 1),
        (0x48, 1),
        (0x4C, 1280),
        (0x50, 0x3C_0000),
        (0x54, 1),
        (0x5C, 1280),
        (0x60, 720),
        (0x64, 0x0053_2120),
        (0x68, 0x01),
        (0x6C, 3),
        (0x70, 5120),
        (0x78, slot * 0x3C_0000),
        (0x7C, 0xFE),
        (0x80, 4),
        (0x94, 0x3C_0000),
    ] {
        put(at, v);
    }
    b
}

pub struct Screen {
    pub h: Harness,
    pub relay: ViObject,
    pub binder: i32,
    pub nvmap_id: u32,
    pub memory: u64,
}

impl Screen {
    /// A managed (or stray) layer opened, and 2 frames of nvmap memory of the client.
    pub fn new(stray: bool) -> Screen {
        let mut h = Harness::new();
        let binder = if stray {
            h.k.hle.shared.vi.create_stray_layer(0).unwrap().1
        } else {
            let layer = h.k.hle.shared.vi.create_managed_layer(OWNER);
            h.k.hle.shared.vi.open_layer(layer, OWNER).unwrap()
        };
        let memory = h.alloc(2 * 0x3C_0000);
        let process = h.process;
        let nvmap_id = h.k.hle.shared.nvmap.create(process, 2 * 0x3C_0000);
        h.k.hle.shared.nvmap.get_mut(nvmap_id).unwrap().allocation =
            Some(NvMapAllocation { address: memory, align: 0x20000, flags: 1, kind: 0 });
        Screen { h, relay: ViObject::Relay, binder, nvmap_id, memory }
    }

    /// TransactParcel(binder, code, parcel) with a 0x400-byte B; the reply and the B bytes.
    pub fn transact(&mut self, code: u32, args: &[u8]) -> (HleReply, Vec<u8>) {
        let a = self.h.buffer(&request_parcel(args));
        let b = self.h.out_buffer(0x400);
        let payload = words(&[self.binder, code as i32, 0]);
        let (sends, receives) = ([a], [b]);
        let parts = RequestParts {
            command_id: 0,
            payload: &payload,
            sends: &sends,
            receives: &receives,
            ..RequestParts::default()
        };
        let reply = self.h.call(&mut self.relay, &parts);
        let bytes = self.h.read(b.address(), 0x400);
        (reply, bytes)
    }

    /// The reply parcel's data words.
    pub fn reply_words(&mut self, code: u32, args: &[u8]) -> Vec<i32> {
        let (reply, b) = self.transact(code, args);
        assert_eq!(reply_result(&reply).map(ResultCode::raw), Some(0), "TransactParcel code {code}");
        let size = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
        assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()), 0x10);
        b[0x10..0x10 + size].chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
    }

    pub fn connect(&mut self) -> Vec<i32> {
        self.reply_words(10, &words(&[0, 2, 0]))
    }

    pub fn preallocate(&mut self, slot: u32) -> Vec<i32> {
        let mut args = words(&[slot as i32, 1, 0x16C, 0]);
        args.extend_from_slice(&gbfr(self.nvmap_id, slot));
        self.reply_words(14, &args)
    }

    pub fn dequeue(&mut self, width: u32) -> Vec<i32> {
        self.reply_words(3, &words(&[0, width as i32, 720, 1, 0xB00]))
    }

    pub fn request(&mut self, slot: i32) -> Vec<i32> {
        self.reply_words(1, &words(&[slot]))
    }

    pub fn queue(&mut self, slot: i32) -> Vec<i32> {
        self.queue_cropped(slot, [0; 4])
    }

    /// QUEUE with the crop {left, top, right, bottom}.
    pub fn queue_cropped(&mut self, slot: i32, crop: [i32; 4]) -> Vec<i32> {
        let mut input = vec![0i32; 0x54 / 4];
        input[0x0C / 4..0x1C / 4].copy_from_slice(&crop);
        input[0x2C / 4] = 1; // swap interval
        let mut args = words(&[slot, 0x54, 0]);
        args.extend_from_slice(&words(&input));
        self.reply_words(7, &args)
    }

    /// Fills frame `slot` of the nvmap memory with a pattern swizzled by `layout`, and
    /// returns the linear image it shows.
    pub fn draw(&mut self, slot: u64, seed: u8) -> Vec<u8> {
        let layout =
            display::SurfaceLayout { width: 1280, height: 720, bytes_per_pixel: 4, pitch: 5120, block_height_log2: 4 };
        let mut swizzled = vec![0u8; 0x3C_0000];
        let mut linear = vec![0u8; 1280 * 720 * 4];
        for y in 0..720u32 {
            for x in 0..5120u32 {
                let v = (x / 4).wrapping_mul(3).wrapping_add(y.wrapping_mul(7)).wrapping_add(u32::from(seed)) as u8;
                let v = if x % 4 == 3 { 0xFF } else { v ^ (x % 4) as u8 };
                swizzled[layout.offset(x, y) as usize] = v;
                linear[(y * 5120 + x) as usize] = v;
            }
        }
        self.h.write(self.memory + slot * 0x3C_0000, &swizzled);
        linear
    }
}

/// Shows `swizzled` (one 1280x720 RGBA8888 frame, block-linear with 16-GOB blocks, as a
/// client queues it) on a new managed layer, or on a stray layer: CONNECT,
/// SET_PREALLOCATED_BUFFER, DEQUEUE, REQUEST_BUFFER, QUEUE; what the display kept.
pub fn show(swizzled: &[u8], stray: bool) -> Option<Frame> {
    show_on(Screen::new(stray), swizzled)
}

/// [`show`] on the layer of `s`.
pub fn show_on(mut s: Screen, swizzled: &[u8]) -> Option<Frame> {
    s.connect();
    s.preallocate(0);
    s.dequeue(1280);
    s.request(0);
    let memory = s.memory;
    s.h.write(memory, swizzled);
    s.queue(0);
    s.h.k.hle.shared.vi.last_shown.take()
}
