//! `gpubench calibrate`: predict one training step of a model from its own GEMM shapes and
//! memory traffic, measured on this device.
//!
//! Planning from one square GEMM, or from a guessed MFU, misses by tens of percent: a step runs
//! many differently shaped products, batched attention products and memory-bound passes. This
//! module lists them ([`step`], [`membound`]), proves the list adds up to the 6·N·D (+ PaLM's
//! attention term) of the planning formulas ([`flops`]), measures each distinct shape and the
//! copy bandwidth on the device ([`measure`]), turns that into a per-step breakdown and a
//! predicted step time ([`report`]), and saves it as a calibration file that
//! `gpubench estimate --calibration` reads ([`file`]).

pub mod file;
pub mod flops;
pub mod measure;
pub mod membound;
pub mod report;
pub mod step;
