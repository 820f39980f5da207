//! Everything gpubench says on the terminal: one table type that fits a width, number
//! formats shared by every view and export, warnings that carry their advice, and the
//! views of a profile (`run`, `show`, `sweep`).

pub mod format;
pub mod table;
pub mod warnings;
