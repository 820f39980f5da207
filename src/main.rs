//! The `gpubench` binary, kept thin so the library holds all logic: parse the command line,
//! run the command, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic is a bug, but the user still gets one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let msg = msg.lines().next().unwrap_or("").to_string();
        eprintln!(
            "Error: internal error: {msg} (please report this at the gpubench issue tracker)"
        );
    }));
    let cli = match gpubench::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gpubench::commands::execute(cli)
    })) {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => gpubench::error::report(&err),
        Err(_) => ExitCode::from(gpubench::error::EXIT_FAILURE),
    }
}
