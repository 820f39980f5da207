//! Progress bars on stderr that hide themselves when stdout is not a terminal, so callers
//! never branch on it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
