//! Planning formulas (not yet written).
