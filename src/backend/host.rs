//! The host machine a profile records (CPU, memory, OS), read with sysinfo.
//!
//! It sits with the backends because the CPU backend names its device from it; the profile
//! stores it and re-exports it (`profile::HostInfo`), so the backend never imports the profile.

use serde::{Deserialize, Serialize};

/// The host machine (from sysinfo).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub cpu_model: String,
    pub cpu_physical_cores: Option<u32>,
    pub cpu_logical_cores: u32,
    pub memory_bytes: u64,
    pub os: String,
}

impl HostInfo {
    /// Reads the host's CPU, memory and OS.
    pub fn detect() -> Self {
        use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let cpu_model = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown CPU".into());
        HostInfo {
            hostname: System::host_name(),
            cpu_model,
            cpu_physical_cores: System::physical_core_count().map(|c| c as u32),
            cpu_logical_cores: sys.cpus().len().max(1) as u32,
            memory_bytes: sys.total_memory(),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
        }
    }
}
