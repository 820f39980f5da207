//! The flags of `gpubench completions` and `gpubench man`: which shell to complete in.

use clap_complete::Shell;

/// Flags of `gpubench completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench completions bash > ~/.local/share/bash-completion/completions/gpubench
  gpubench completions zsh > ~/.zfunc/_gpubench      # with fpath+=(~/.zfunc) in ~/.zshrc
  gpubench completions fish > ~/.config/fish/completions/gpubench.fish
  gpubench completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Flags of `gpubench man`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench man > gpubench.1 && man ./gpubench.1
  gpubench man | gzip > /usr/local/share/man/man1/gpubench.1.gz")]
pub struct ManArgs {}
