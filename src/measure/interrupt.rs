//! Ctrl-C for long measurements (sweeps, sustained runs): the first press asks the loop to
//! stop at the next safe point, so the work done is saved and summarized; a second press
//! quits at once.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Exit code of a command stopped by Ctrl-C (128 + SIGINT), after it saved its work.
pub use crate::error::EXIT_INTERRUPTED;

static STOP: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the Ctrl-C handler (once per process) and returns the flag it sets. `what`
/// names where the loop stops, e.g. "after the current point".
pub fn install(what: &'static str) -> &'static AtomicBool {
    INSTALL.call_once(|| {
        // If another handler is installed already, Ctrl-C keeps its default meaning.
        let _ = ctrlc::set_handler(move || {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
            let _ = writeln!(
                std::io::stderr(),
                "\nStopping {what} and saving (press Ctrl-C again to quit at once)…"
            );
        });
    });
    &STOP
}
