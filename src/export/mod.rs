//! Turning profiles into bytes for files and tools: CSV, Markdown, SVG plots, comparisons.
//! What gpubench prints on the terminal lives in [`crate::output`].
//! Exporters only render; the command that called them decides where the bytes go.

pub mod compare;
pub mod csv;
pub mod files;
pub mod markdown;
pub mod plot;

use crate::profile::Profile;

/// A file format a profile can be written in: exporters only turn a profile into bytes; the
/// caller decides where they go ([`files::ExportTargets`], `gpubench plot`).
pub trait Exporter {
    fn serialize(&self, p: &Profile) -> anyhow::Result<Vec<u8>>;
}

/// One row per result, every figure in its own column ([`csv::render`]).
pub struct CsvExporter;

/// The results table as GitHub-flavoured Markdown ([`markdown::render`]).
pub struct MarkdownExporter;

/// The profile itself, pretty-printed JSON.
pub struct JsonExporter;

/// TFLOPS against size and telemetry over time, as SVG ([`plot::render_svg`]).
pub struct SvgExporter;

impl Exporter for CsvExporter {
    fn serialize(&self, p: &Profile) -> anyhow::Result<Vec<u8>> {
        Ok(csv::render(p).into_bytes())
    }
}

impl Exporter for MarkdownExporter {
    fn serialize(&self, p: &Profile) -> anyhow::Result<Vec<u8>> {
        Ok(markdown::render(p).into_bytes())
    }
}

impl Exporter for JsonExporter {
    fn serialize(&self, p: &Profile) -> anyhow::Result<Vec<u8>> {
        Ok(p.to_json().into_bytes())
    }
}

impl Exporter for SvgExporter {
    fn serialize(&self, p: &Profile) -> anyhow::Result<Vec<u8>> {
        Ok(plot::render_svg(p)?.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    fn profile() -> Profile {
        let mut p = crate::measure::testing::profile_with(DType::Fp32, &[], false);
        p.results
            .push(crate::measure::testing::measured_result(DType::Fp32));
        p
    }

    #[test]
    fn each_format_serializes_the_profile() {
        let p = profile();
        let json = String::from_utf8(JsonExporter.serialize(&p).unwrap()).unwrap();
        let back = Profile::from_json(&json, "exported").unwrap();
        assert_eq!(back.results.len(), 1);
        assert_eq!(back.results[0].tflops, p.results[0].tflops);
        let csv = CsvExporter.serialize(&p).unwrap();
        assert_eq!(csv, csv::render(&p).into_bytes());
        assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 2);
        let md = String::from_utf8(MarkdownExporter.serialize(&p).unwrap()).unwrap();
        assert!(md.contains("fp32"), "{md}");
        let svg = String::from_utf8(SvgExporter.serialize(&p).unwrap()).unwrap();
        assert!(
            svg.trim_start().starts_with("<svg") || svg.contains("<svg"),
            "{svg}"
        );
    }
}
