//! Hostile messages: random and mutated words through both copy directions never
//! panic, and the routing invariants of `horizon-ipc.md` §3.4 / §4 hold for every one.
//! Deterministic (fixed-seed xorshift), so a failure reproduces.

mod model_support;

use model_support::*;
use xcbuf_kmodel::message::{ServerOutcome, Side};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn word(&mut self) -> u32 {
        (self.next() >> 16) as u32
    }

    /// Mostly plausible words: small counts, addresses in the mapped regions, sometimes
    /// anything at all.
    fn message_word(&mut self, idx: usize) -> u32 {
        match (idx, self.next() % 8) {
            (_, 0) => self.word(),
            (0, _) => self.word() & 0x0333_0007,
            (1, _) => (self.word() & 0x8070_3C0F) | (self.word() & 1) << 31,
            (_, 1 | 2) => (CLIENT_DATA as u32).wrapping_add(self.word() & 0xFFF),
            (_, 3) => 0x1000 + (self.word() & 0xFFF),
            (_, 4) => (self.word() & 0x1FF) << 16 | (self.word() & 0xF),
            _ => self.word() & 0xFF,
        }
    }

    fn message(&mut self) -> Vec<u32> {
        (0..64).map(|i| self.message_word(i)).collect()
    }
}

fn setup(rng: &mut XorShift) -> (Bench, Vec<u32>, Vec<u32>) {
    let mut b = Bench::new();
    let h = b.handles.add(Side::Client, 0x5000).expect("room");
    let _ = b.handles.add(Side::Server, 0x6000).expect("room");
    let mut server = rng.message();
    let mut client = rng.message();
    // Some messages carry a real handle where a handle slot may be.
    client[3 + (rng.next() % 4) as usize] = h;
    if rng.next() & 1 == 0 {
        server[0..4].copy_from_slice(&[0, 0x800, 0x1008 + (rng.word() & 0x3F), 0x0100_0000]);
    }
    b.server_message(&server);
    b.client_message(&client);
    (b, server, client)
}

#[test]
fn random_requests_never_panic_and_route_results_as_the_kernel_does() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut broken, mut not_found) = (0, 0, 0);
    for _ in 0..20_000 {
        let (mut b, server, client) = setup(&mut rng);
        match b.receive() {
            Ok(report) => {
                ok += 1;
                assert_eq!(&b.server_words(2)[..], &client[0..2], "header copied verbatim");
                assert_eq!(report.header_bytes, 8);
            }
            Err(f) => {
                assert!(f.client_result.is_failure());
                match f.server_sees {
                    ServerOutcome::NotFound => {
                        not_found += 1;
                        assert_eq!(&b.server_words(2)[..], &server[0..2], "header restored: {f}");
                    }
                    ServerOutcome::ReceiveListBroken => broken += 1,
                }
                // Nothing the failed message installed stays in the server's table.
                let server_handles = b.handles.tables.keys().filter(|(s, _)| *s == Side::Server).count();
                assert_eq!(server_handles, 1, "{f}");
            }
        }
    }
    // The generator reaches every outcome (so the assertions above were exercised).
    assert!(ok > 50 && broken > 100 && not_found > 100, "ok {ok}, broken {broken}, not found {not_found}");
}

#[test]
fn random_replies_never_panic_and_leave_no_handles_behind_on_failure() {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..20_000 {
        let (mut b, server, _) = setup(&mut rng);
        match b.reply() {
            Ok(_) => {
                ok += 1;
                assert_eq!(&b.client_words(2)[..], &server[0..2]);
            }
            Err(f) => {
                failed += 1;
                assert!(f.client_result.is_failure());
                let client_handles = b.handles.tables.keys().filter(|(s, _)| *s == Side::Client).count();
                assert_eq!(client_handles, 1, "failed reply left a handle in the client: {f}");
            }
        }
    }
    assert!(ok > 100 && failed > 100, "ok {ok}, failed {failed}");
}
