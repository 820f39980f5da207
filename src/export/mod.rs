//! Turning profiles into bytes for files and tools: CSV, Markdown, SVG plots, comparisons.
//! What gpubench prints on the terminal lives in [`crate::output`].
//! Exporters only render; the command that called them decides where the bytes go.

pub mod compare;
pub mod csv;
pub mod files;
pub mod markdown;
pub mod plot;
