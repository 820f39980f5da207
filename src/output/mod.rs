//! Everything gpubench says on the terminal: one table type that fits a width, number
//! formats shared by every view and export, warnings that carry their advice, progress bars,
//! and the views of what the layers below compute.
//!
//! Layering: output sits above every module that computes something (`backend`, `profile`,
//! `telemetry`, `measure`, `estimate`, `calibrate`, `sweep`, `cluster`, `comm`) and imports
//! from them; none of them imports from here, so a figure is computed once, below, and shown here. Only the
//! exporters (`export`) and the command line (`cli`, `commands`) build on it.
//!
//! - [`table`]: the one column aligner (alignment, priorities, fitting a width);
//!   [`sections`]: titled sections of rows over it, the layout of the planning reports.
//! - [`format`](mod@format): number formats (re-exporting those of [`crate::units`]).
//! - [`results`], [`sustained`], [`sweep`], [`warnings`], [`progress`]: the views of a
//!   profile (`run`, `show`, `sweep`, a sustained run) and of a measurement under way.
//! - [`calibrated`]: the calibrated-estimate block `run` prints under its table.
//! - [`estimate`] and [`layout`]: an estimate and a layout estimate as text; [`plan`]: the
//!   ranked layouts of `gpubench plan`.
//! - [`memory`] and [`scale`]: the `gpubench memory` and `gpubench scale` reports as text.
//! - [`calibrate`]: the `gpubench calibrate` dry run and measured shapes as text; [`step`]: its
//!   step breakdown.
//! - [`cluster`]: the `gpubench report` of a job's ranks and nodes as text; [`node`]: every
//!   GPU of a node measured at once (`run --device all`); [`comm`]: the `gpubench comm`
//!   table of collectives.

pub mod calibrate;
pub mod calibrated;
pub mod cluster;
pub mod comm;
pub mod estimate;
pub mod format;
pub mod layout;
pub mod memory;
pub mod node;
pub mod plan;
pub mod progress;
pub mod results;
pub mod scale;
pub mod sections;
pub mod step;
pub mod sustained;
pub mod sweep;
pub mod table;
pub mod warnings;

/// Writes `text` to stdout; a closed pipe (`gpubench models | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// The first line of a view that starts (after its indent) with `label`.
    pub(crate) fn line<'a>(text: &'a str, label: &str) -> &'a str {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no '{label}' line in\n{text}"))
    }
}
