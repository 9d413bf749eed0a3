//! The bench's model of the Horizon kernel: one file per kernel object, as in
//! mesosphere (`kern_k_*.cpp`).
pub mod message;
pub mod receive_list;
