//! Everything gpubench says on the terminal: one table type that fits a width, number
//! formats shared by every view and export, warnings that carry their advice, progress bars,
//! and the views of a profile (`run`, `show`, `sweep`, a sustained run).

pub mod calibrated;
pub mod format;
pub mod progress;
pub mod results;
pub mod sustained;
pub mod table;
pub mod warnings;
