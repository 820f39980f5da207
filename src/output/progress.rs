//! Progress bars on stderr that hide themselves when stdout is not a terminal, so callers
//! never branch on it; one for a timed point and one for a sustained run.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::measure::Phase;
use crate::telemetry::TimelinePoint;

/// Whether progress should be drawn (stdout and stderr are terminals).
pub fn enabled() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// A bar of `len` steps with a message, or a hidden one when output is not a terminal.
pub fn bar(len: u64, msg: impl Into<String>) -> ProgressBar {
    let pb = if enabled() {
        ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(10))
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg:<40} [{bar:30}] {percent:>3}% {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg.into());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// The bar of one timed point: "warm-up", then "timing", with the fraction done.
pub struct PointBar {
    bar: ProgressBar,
    label: String,
    timing: bool,
}

impl PointBar {
    pub fn new(label: &str) -> Self {
        PointBar {
            bar: bar(100, format!("{label} warm-up")),
            label: label.to_string(),
            timing: false,
        }
    }

    /// Shows the phase and the fraction (0–1) of it done.
    pub fn update(&mut self, phase: Phase, frac: f64) {
        if phase == Phase::Timing && !self.timing {
            self.bar.set_message(format!("{} timing", self.label));
            self.timing = true;
        }
        self.bar.set_position((frac * 100.0) as u64);
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The bar of a sustained run: seconds elapsed, and the last complete window's TFLOPS and
/// SM clock.
pub struct SustainedBar {
    bar: ProgressBar,
    label: String,
}

impl SustainedBar {
    pub fn new(label: &str, duration_s: f64) -> Self {
        SustainedBar {
            bar: bar(
                (duration_s * 10.0).ceil() as u64,
                format!("{label} sustained"),
            ),
            label: label.to_string(),
        }
    }

    /// Shows `elapsed_s` and, once there is one, the last complete window.
    pub fn update(&self, elapsed_s: f64, last: Option<&TimelinePoint>) {
        self.bar.set_position((elapsed_s * 10.0) as u64);
        if let Some(w) = last {
            self.bar.set_message(format!(
                "{}: {} TFLOPS{}",
                self.label,
                super::format::tflops(w.tflops),
                w.sm_clock_mhz_mean
                    .map(|c| format!(", {c:.0} MHz"))
                    .unwrap_or_default()
            ));
        }
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
