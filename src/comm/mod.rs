//! Collective communication measured through NCCL (`gpubench comm`): the bus bandwidth the
//! GPUs of a node really reach for all_reduce, all_gather, reduce_scatter, broadcast and
//! send/recv, saved as the curves `gpubench estimate --comm-profile` reads (docs/comm.md).
//!
//! Besides `backend::cuda`, this is the only module that calls CUDA libraries: `nccl` loads
//! NCCL and checks its symbols, `measure` drives the GPUs, `busbw` holds nccl-tests' pure
//! arithmetic and `profile` the saved file.

pub mod busbw;
pub mod measure;
pub mod nccl;
pub mod profile;
