//! Turning profiles into tables and other formats.
