//! clap value parsers for the planning commands' numbers (`estimate`, `memory`, `scale`,
//! `plan`): counts with suffixes, utilizations, money, GPU counts. Each wraps an
//! [`crate::estimate::input`] parser, whose checks know the physical range of each flag.

/// Adapts an `input` parser to clap (clap names the flag, so our "--flag: " prefix goes).
fn clap_parser<T: 'static>(
    flag: &'static str,
    f: fn(&str, &str) -> anyhow::Result<T>,
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

/// A count with an optional suffix (65B, 1.4T) within the flag's physical range.
pub fn num(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, crate::estimate::input::count)
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
pub fn gpus(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, crate::estimate::input::gpus)
}
