//! Error kinds, so that bad input (exit code 2) is told apart from a failure at run time
//! (exit code 1) and every error reaches the user as one line.
//!
//! Two kinds of failure reach the user: a [`UsageError`] (bad input the user can fix by
//! changing the command line: exit code 2) and anything else (a failure at run time: exit
//! code 1). Code anywhere in the crate returns `anyhow::Result`; a usage error is raised with
//! [`usage`] (or `Err(UsageError(..).into())`) and `main` finds it in the error chain.

use std::process::ExitCode;

/// Bad input: the message names the problem and the fix. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Builds an `anyhow::Error` carrying a [`UsageError`].
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// A result that was measured and saved but failed verification: exit code 1 after output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidResult(pub String);

/// Exit code for usage errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for failures at run time.
pub const EXIT_FAILURE: u8 = 1;

/// Whether an error (or anything in its chain) is a usage error.
pub fn is_usage(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<UsageError>().is_some())
}

/// Prints `Error: ...` on one line (context chain joined with ": ") and returns the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let line = format!("{err:#}").replace('\n', " ");
    eprintln!("Error: {line}");
    if is_usage(err) {
        ExitCode::from(EXIT_USAGE)
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
