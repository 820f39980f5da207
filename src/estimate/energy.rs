//! Energy and carbon of a run, from its GPU-hours, so a plan reports its footprint too.
//!
//! Source (`docs/sources.md` §6, from the LLaMA paper): Wh = GPU-hours × GPU power (W) × PUE, and
//! tCO2eq = MWh × 0.385 (the US average grid, 0.385 kg CO2eq per kWh = t per MWh). LLaMA's
//! development: 2,638 MWh → 1,015 tCO2eq. Only GPU power is counted, as the source does.

/// US-average carbon intensity, tCO2eq per MWh (= kg per kWh), as the source uses.
pub const DEFAULT_CARBON_T_PER_MWH: f64 = 0.385;
/// Power usage effectiveness of the data centre: the LLaMA paper's figure.
pub const DEFAULT_PUE: f64 = 1.1;

/// Energy in MWh: GPU-hours × watts × PUE / 1e6.
pub fn energy_mwh(gpu_hours: f64, watts: f64, pue: f64) -> f64 {
    gpu_hours * watts * pue / 1e6
}

/// Emissions in tCO2eq: MWh × t/MWh.
pub fn co2_tonnes(mwh: f64, t_per_mwh: f64) -> f64 {
    mwh * t_per_mwh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_carbon() {
        let t = co2_tonnes(2638.0, DEFAULT_CARBON_T_PER_MWH);
        assert!((t - 1015.63).abs() < 0.01, "{t}");
    }

    #[test]
    fn energy_formula() {
        // 1,000 GPU-hours at 400 W and PUE 1.1 = 0.44 MWh.
        assert!((energy_mwh(1000.0, 400.0, 1.1) - 0.44).abs() < 1e-12);
    }
}
