//! The report page on screen, without any IPC: the 80×45 text console drawn with font8x8
//! glyphs scaled ×2 ([`font`], [`console`], [`page`]) onto a [`Surface`]: the frame the
//! client queues, a 1280×720 RGBA8888 buffer in the block-linear 16Bx2 layout with 16-GOB
//! blocks ([`block_linear`]; screen-output.md §1e), or a plain row-major buffer on the host
//! ([`surface::LinearSurface`]), so the bench rebuilds the same page from the guest's report
//! lines and compares it pixel for pixel.
#![forbid(unsafe_code)]

pub mod block_linear;
pub mod console;
pub mod font;
pub mod page;
pub mod surface;

pub use block_linear::BlockLinearSurface;
pub use console::Console;
pub use page::Page;
pub use surface::{LinearSurface, Surface};

/// Width of the frame in pixels.
pub const WIDTH: usize = 1280;
/// Height of the frame in pixels (what is shown).
pub const HEIGHT: usize = 720;
/// Bytes per pixel (RGBA8888).
pub const BYTES_PER_PIXEL: usize = 4;
/// Bytes per row: 1280 × 4 = 5120, a multiple of the GOB width of 64 bytes (libnx
/// `framebufferCreate`: `width_aligned_bytes`).
pub const PITCH: usize = WIDTH * BYTES_PER_PIXEL;
/// log2 of the block height in GOBs: 16 GOBs of 8 rows (libnx `framebufferCreate`
/// `block_height_log2 = 4`; the only height Eden presents, screen-output.md §1e).
pub const BLOCK_HEIGHT_LOG2: u32 = 4;
/// Rows of one block: 8 rows per GOB × 16 GOBs.
pub const BLOCK_HEIGHT: usize = 8 << BLOCK_HEIGHT_LOG2;
/// The height padded to whole blocks: 720 -> 768 (libnx `framebufferCreate` `height_aligned`).
pub const ALIGNED_HEIGHT: usize = HEIGHT.div_ceil(BLOCK_HEIGHT) * BLOCK_HEIGHT;
/// Bytes of one frame (one buffer slot): 5120 × 768 = 0x3C0000 (libnx `fb_size`).
pub const FRAME_SIZE: usize = PITCH * ALIGNED_HEIGHT;

static_assertions::const_assert_eq!(PITCH, 5120);
static_assertions::const_assert_eq!(PITCH % 64, 0);
static_assertions::const_assert_eq!(ALIGNED_HEIGHT, 768);
static_assertions::const_assert_eq!(FRAME_SIZE, 0x3C_0000);
static_assertions::const_assert_eq!(FRAME_SIZE % 0x1000, 0);

/// One pixel, RGBA8888 as it lies in memory: R at byte 0, then G, B, A; A = 0xFF is opaque
/// (libnx `PIXEL_FORMAT_RGBA_8888`, `NvColorFormat_A8B8G8R8`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct Colour {
    /// Red, byte 0.
    pub r: u8,
    /// Green, byte 1.
    pub g: u8,
    /// Blue, byte 2.
    pub b: u8,
    /// Alpha, byte 3 (0xFF opaque).
    pub a: u8,
}

static_assertions::assert_eq_size!(Colour, [u8; 4]);

impl Colour {
    /// The page's background: opaque black.
    pub const BLACK: Colour = Colour::rgb(0, 0, 0);
    /// Ordinary text.
    pub const WHITE: Colour = Colour::rgb(0xFF, 0xFF, 0xFF);
    /// Secondary text (the report-file line).
    pub const GREY: Colour = Colour::rgb(0xA0, 0xA0, 0xA0);
    /// "PASS".
    pub const GREEN: Colour = Colour::rgb(0x40, 0xE0, 0x40);
    /// "FAIL" lines.
    pub const RED: Colour = Colour::rgb(0xFF, 0x50, 0x50);
    /// The exit hint and the overflow note.
    pub const YELLOW: Colour = Colour::rgb(0xFF, 0xE0, 0x40);
    /// The background every cell is drawn on.
    pub const BACKGROUND: Colour = Colour::BLACK;

    /// An opaque colour.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Colour {
        Colour { r, g, b, a: 0xFF }
    }

    /// The four bytes in memory order.
    pub const fn bytes(self) -> [u8; 4] {
        [self.r, self.g, self.b, self.a]
    }

    /// From four bytes in memory order.
    pub const fn from_bytes(bytes: [u8; 4]) -> Colour {
        let [r, g, b, a] = bytes;
        Colour { r, g, b, a }
    }

    /// The pixel as a little-endian word (what [`LinearSurface`] stores): its bytes in
    /// memory on a little-endian machine are R, G, B, A.
    pub const fn word(self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    /// From a little-endian word (the inverse of [`Colour::word`]).
    pub const fn from_word(w: u32) -> Colour {
        Colour::from_bytes(w.to_le_bytes())
    }
}
