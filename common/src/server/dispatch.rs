//! (being written)
#![forbid(unsafe_code)]
/// What to do after handle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action { /// reply
 Reply, /// close
 CloseSession }
/// x
pub struct Handled;
/// x
pub struct StrayHandles;
