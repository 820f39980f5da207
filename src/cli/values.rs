//! clap value parsers for the planning commands' numbers (`estimate`, `memory`, `scale`,
//! `plan`): counts with suffixes, utilizations, money, GPU counts. Each wraps an
//! [`crate::estimate::input`] parser; a count's flag is mapped here to the [`Quantity`] whose
//! physical range it must lie in.

pub use crate::estimate::input::Quantity;

/// Adapts an `input` parser to clap (clap names the flag, so our "--flag: " prefix goes).
fn clap_parser<T: 'static>(
    flag: &'static str,
    f: impl Fn(&str, &str) -> anyhow::Result<T> + Clone + Send + Sync + 'static,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| {
        f(s, flag).map_err(|e| {
            let m = e.to_string();
            m.strip_prefix(&format!("{flag}: "))
                .unwrap_or(&m)
                .to_string()
        })
    }
}

/// A count with an optional suffix (65B, 1.4T) within the physical range of `quantity`.
pub fn num(flag: &'static str, quantity: Quantity) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, move |s, flag| {
        crate::estimate::input::count(s, flag, quantity)
    })
}
/// A positive number with an optional suffix, with no range beyond its sign (`--pue 1.1`).
pub fn positive(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, crate::estimate::input::positive)
}
/// A utilization in (0, 1]: `0.45` or `45%`.
pub fn util(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, crate::estimate::input::utilization)
}
/// A positive dollar amount: `2.5`, `$10,000`, `10k`.
pub fn money(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, crate::estimate::input::money)
}
/// A number of zero or more (`0.2`, `2M`).
pub fn nonneg(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, crate::estimate::input::non_negative)
}
/// A whole number of GPUs (`2048`, `10,830`, `2k`).
pub fn gpu_count(flag: &'static str) -> impl Fn(&str) -> Result<u64, String> + Clone {
    clap_parser(flag, crate::estimate::input::gpus)
}

/// A whole count (layers, hidden size, heads) within the physical range of `quantity`.
pub fn whole(
    flag: &'static str,
    quantity: Quantity,
) -> impl Fn(&str) -> Result<u64, String> + Clone {
    let parse = num(flag, quantity);
    move |s| {
        let v = parse(s)?;
        if v.fract() != 0.0 || v >= u64::MAX as f64 {
            return Err(format!("'{s}' must be a whole number, such as 32"));
        }
        Ok(v as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_counts_and_gpus() {
        assert_eq!(whole("--layers", Quantity::Layers)("32"), Ok(32));
        assert!(whole("--layers", Quantity::Layers)("32.5")
            .unwrap_err()
            .contains("whole number"));
        assert!(whole("--layers", Quantity::Layers)("0").is_err());
        assert_eq!(gpu_count("--gpus")("2k"), Ok(2000));
        assert_eq!(gpu_count("--gpus")("10,830"), Ok(10_830));
        assert_eq!(gpu_count("--gpus")("1e9"), Ok(1_000_000_000));
        assert!(gpu_count("--gpus")("1.5").is_err());
        assert!(gpu_count("--gpus")("2e9")
            .unwrap_err()
            .contains("whole number of GPUs"));
        assert_eq!(
            gpu_count("--gpus")("0").unwrap_err(),
            "'0' must be greater than zero"
        );
    }
}
