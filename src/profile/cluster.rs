//! The `cluster` section of one rank's profile: which rank of which job, on which host.
//!
//! The type lives with the profile schema so that loading a profile never depends on the
//! launcher code; the `cluster` module fills it and re-exports it.

use serde::{Deserialize, Serialize};

/// Where a rank's profile came from in its job: the `cluster` section of a rank file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// `flags`, `torchrun`, `slurm`, `openmpi` or `pmi`.
    pub launcher: String,
    pub rank: u32,
    pub world_size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_rank: Option<u32>,
    /// The node: Slurm's name for it (`SLURMD_NODENAME`) where set, else the host's own name.
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_port: Option<u16>,
    /// The job's id as the launcher names it (`SLURM_JOB_ID`, `TORCHELASTIC_RUN_ID`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// How the device was chosen, in words (`cuda:3 = local rank 3`).
    pub device_rule: String,
    /// The token every rank of one job received at the rendezvous (hex), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// When this file was last written (RFC 3339, UTC): a rank that stopped early is older.
    pub saved_utc: String,
}
