//! The `gpubench` binary: parse the command line, run the command, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match gpubench::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match gpubench::commands::execute(cli) {
        Ok(code) => code,
        Err(err) => gpubench::error::report(&err),
    }
}
