//! Turning profiles into bytes for people and tools: the terminal table, and other formats.
//! Exporters only render; the command that called them decides where the bytes go.

pub mod calibrated;
pub mod compare;
pub mod csv;
pub mod files;
pub mod markdown;
pub mod plot;
pub mod table;
