//! gpubench measures the matrix-multiply throughput a GPU (or the CPU) really delivers,
//! saves it as a profile, and feeds the measured figure into LLM training estimates.
//!
//! Where things are:
//! - [`backend`]: the `Backend` trait and its CPU and CUDA implementations (every cudarc
//!   call lives in `backend::cuda`).
//! - [`measure`]: every measuring loop (sampling, one point with its algorithm search, the
//!   sustained run, copy bandwidth), statistics and verification, independent of the backend.
//! - [`stats`]: median, mean, min, max, standard deviation of timing samples (a leaf).
//! - [`peak`]: the spec-sheet GPU table (`data/gpus.json`) and peaks derived from the device.
//! - [`profile`]: the saved JSON profile, loading and atomic saving.
//! - [`export`]: turning profiles into tables and other formats.
//! - [`estimate`]: the planning formulas (compute, time, memory, scaling, cost, energy),
//!   rendering nothing; [`calibrate`]: a training step measured shape by shape.
//! - [`output`]: what gpubench prints on the terminal (tables, formats, progress bars, the
//!   views of profiles, sweeps, estimates and calibrations).
//! - [`cli`] and [`commands`]: the command line (clap in `cli`, each command in `commands`).
//!
//! Imports run one way, from the leaves (`error`, `dtype`, `stats`, `units`, `peak`) up to
//! the commands; the layer order and the test that keeps it are in `src/module_cycles.rs`.

pub mod backend;
pub mod calibrate;
pub mod cli;
pub mod cluster;
pub mod comm;
pub mod commands;
pub mod dtype;
pub mod error;
pub mod estimate;
pub mod export;
pub mod measure;
pub mod model;
pub mod output;
pub mod peak;
pub mod profile;
pub mod stats;
pub mod sweep;
pub mod telemetry;
pub mod units;

#[cfg(test)]
mod module_cycles;
