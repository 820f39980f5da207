//! Money, so a plan can be compared with a budget: renting GPU-hours, or buying the cluster.
//!
//! Source (`docs/sources.md` §7): buying = GPUs × unit price + other hardware (CPU, memory,
//! storage, network: 20 % of the GPU cost) + data centre (power, cooling, upkeep: 10 %) +
//! staff ($2,000,000); 10,830 A100s at $10,000 → $142,790,000. Renting = GPU-hours × price
//! per GPU-hour.

use serde::Serialize;

/// The source's share of the GPU cost spent on other hardware.
pub const DEFAULT_OTHER_HARDWARE_FRACTION: f64 = 0.2;
/// The source's share of the GPU cost spent on the data centre.
pub const DEFAULT_DATACENTER_FRACTION: f64 = 0.1;
/// The source's staff cost, USD.
pub const DEFAULT_STAFF_USD: f64 = 2_000_000.0;

/// Cost of renting: GPU-hours × USD per GPU-hour.
pub fn rented(gpu_hours: f64, usd_per_gpu_hour: f64) -> f64 {
    gpu_hours * usd_per_gpu_hour
}

/// Buying the cluster, by part (USD).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bought {
    pub gpus_usd: f64,
    pub other_hardware_usd: f64,
    pub datacenter_usd: f64,
    pub staff_usd: f64,
}

impl Bought {
    /// The parts for `gpus` GPUs at `gpu_price` each.
    pub fn of(
        gpus: f64,
        gpu_price: f64,
        other_fraction: f64,
        dc_fraction: f64,
        staff: f64,
    ) -> Self {
        let g = gpus * gpu_price;
        Bought {
            gpus_usd: g,
            other_hardware_usd: g * other_fraction,
            datacenter_usd: g * dc_fraction,
            staff_usd: staff,
        }
    }

    /// The whole bill.
    pub fn total(&self) -> f64 {
        self.gpus_usd + self.other_hardware_usd + self.datacenter_usd + self.staff_usd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buying_10830_a100s() {
        let b = Bought::of(
            10_830.0,
            10_000.0,
            DEFAULT_OTHER_HARDWARE_FRACTION,
            DEFAULT_DATACENTER_FRACTION,
            DEFAULT_STAFF_USD,
        );
        assert_eq!(b.gpus_usd, 108_300_000.0);
        assert_eq!(b.other_hardware_usd, 21_660_000.0);
        assert_eq!(b.datacenter_usd, 10_830_000.0);
        assert_eq!(b.total(), 142_790_000.0);
    }

    #[test]
    fn renting() {
        assert_eq!(rented(1_000_000.0, 2.5), 2_500_000.0);
    }
}
