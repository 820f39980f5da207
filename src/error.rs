//! Error kinds, so that bad input (exit code 2) is told apart from a failure at run time
//! (exit code 1) and every error reaches the user as one line.
//!
//! Code anywhere in the crate returns `anyhow::Result`; a usage error is raised with
//! [`usage`] (or `Err(UsageError(..).into())`), a failed verification with [`InvalidResult`],
//! and `main` finds them in the error chain. Each exit code has one meaning:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done (also when the reader of the output went away, e.g. `| head`) |
//! | 1 | could not run: the device, driver, a library or the file system failed |
//! | 2 | bad input: the message names the problem and the fix; nothing was measured |
//! | 3 | measured and saved, but a result failed verification (marked invalid) |
//! | 4 | a GPU or rank was flagged (`gpubench report`, `run --device all`) |
//! | 70 | internal error: a bug in gpubench |
//! | 130 | interrupted (Ctrl-C): the results done so far are kept |

use std::process::ExitCode;

/// Bad input: the message names the problem and the fix. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Builds an `anyhow::Error` carrying a [`UsageError`].
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// A result that was measured and saved but failed verification: exit code 3 after output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidResult(pub String);

/// Exit code for failures at run time.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for usage errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a result that failed verification.
pub const EXIT_INVALID: u8 = 3;
/// Exit code when `gpubench report` or `run --device all` flags a GPU, or `report` finds a
/// rank missing.
pub const EXIT_FLAGGED: u8 = 4;
/// Exit code for a bug (a panic).
pub const EXIT_INTERNAL: u8 = 70;
/// Exit code after Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Whether an error (or anything in its chain) is a usage error.
pub fn is_usage(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<UsageError>().is_some())
}

/// Whether a panic message is the standard library's report of a print to a closed pipe.
pub fn is_closed_pipe_message(msg: &str) -> bool {
    msg.starts_with("failed printing to std") && msg.contains("Broken pipe")
}

/// Whether the error is a write to a closed pipe (the reader went away).
fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints `Error: ...` on one line (context chain joined with ": ") and returns the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    use std::io::Write;
    if is_closed_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let line = format!("{err:#}").replace('\n', " ");
    let _ = writeln!(std::io::stderr(), "Error: {line}");
    if is_usage(err) {
        ExitCode::from(EXIT_USAGE)
    } else if err
        .chain()
        .any(|e| e.downcast_ref::<InvalidResult>().is_some())
    {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_error_is_found_through_context() {
        let e = usage("--n must be positive").context("reading arguments");
        assert!(is_usage(&e));
        let other = anyhow::anyhow!("disk full");
        assert!(!is_usage(&other));
    }
}
