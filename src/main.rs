//! The `gpubench` binary, kept thin so the library holds all logic: parse the command line,
//! run the command, map errors to exit codes.
//!
//! A closed standard output or error (`gpubench show --json p.json | head -2`) is a normal
//! end: exit 0, nothing more printed. That is decided here, once, for every command.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the panic hook when a print failed because the reader went away.
static PIPE_CLOSED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    // A panic is a bug, but the user still gets one line, not a backtrace; the hook itself
    // never panics (a second panic would abort the process).
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        if gpubench::error::is_closed_pipe_message(&msg) {
            PIPE_CLOSED.store(true, Ordering::SeqCst);
            return;
        }
        let msg = msg.lines().next().unwrap_or("").to_string();
        let _ = writeln!(
            std::io::stderr(),
            "Error: internal error: {msg} (please report this at the gpubench issue tracker)"
        );
    }));
    let cli = match gpubench::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gpubench::commands::dispatch(cli)
    })) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => gpubench::error::report(&err),
        Err(_) if PIPE_CLOSED.load(Ordering::SeqCst) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(gpubench::error::EXIT_INTERNAL),
    }
}
