//! The CUDA backend (cudarc, loaded at run time). Not yet written.

use super::Backend;

/// Opens GPU `ordinal`.
pub fn open(ordinal: u32) -> anyhow::Result<Box<dyn Backend>> {
    Err(anyhow::anyhow!("CUDA backend not written yet (cuda:{ordinal})"))
}
