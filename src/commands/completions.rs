//! `gpubench completions SHELL` and `gpubench man`: shell completion scripts and a man page,
//! generated from the same clap definition the parser uses, so they never fall behind.

use std::process::ExitCode;

use clap_complete::Shell;

use crate::cli::completions::{CompletionsArgs, ManArgs};

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error.
fn emit(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The completion script for `shell` of the parser `cmd` (`Cli::command()`).
pub fn script(shell: Shell, mut cmd: clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "gpubench", &mut buf);
    buf
}

/// The man page (roff) of the parser `cmd` (`Cli::command()`) and its commands' summary.
pub fn man_page(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    Ok(buf)
}

/// Runs `gpubench completions`.
pub fn execute(args: CompletionsArgs, cmd: clap::Command) -> anyhow::Result<ExitCode> {
    emit(&script(args.shell, cmd))
}

/// Runs `gpubench man`.
pub fn execute_man(_args: ManArgs, cmd: clap::Command) -> anyhow::Result<ExitCode> {
    emit(&man_page(cmd)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    #[test]
    fn every_shell_completes_every_command() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let s = String::from_utf8(script(shell, Cli::command())).unwrap();
            for cmd in ["run", "sweep", "estimate", "calibrate", "completions"] {
                assert!(s.contains(cmd), "{shell}: {cmd} missing");
            }
        }
    }

    #[test]
    fn man_page_names_the_commands() {
        let m = String::from_utf8(man_page(Cli::command()).unwrap()).unwrap();
        assert!(
            m.starts_with(".ie") || m.contains(".TH"),
            "{}",
            &m[..80.min(m.len())]
        );
        assert!(
            m.contains("gpubench\\-run") || m.contains("run"),
            "no run in the page"
        );
    }
}
