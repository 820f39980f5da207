//! Aligned text tables and number formats for the planning commands, so every figure lines up
//! with its unit and source and reads the same in every command.
//!
//! A [`Table`] is a list of titled sections of rows; every column is padded to its widest
//! cell across the whole table so that sections line up. Formats put thousands separators
//! in large figures (`1,023,410`), because planners read them aloud.

/// One titled block of rows.
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub title: String,
    /// Column headings (first one over the labels), printed under the title when given.
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Section {
    /// A section with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Section {
            title: title.into(),
            ..Section::default()
        }
    }

    /// Adds a row of cells (label first).
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }
}

/// Sections printed one after another with aligned columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub sections: Vec<Section>,
}

impl Table {
    /// Renders with two-space indents and two spaces between columns; trailing spaces trimmed.
    /// Every row of every section goes through one [`output::table::Table`], so columns line
    /// up across sections; the titles are set between its lines.
    pub fn render(&self) -> String {
        let cols = self
            .sections
            .iter()
            .flat_map(|s| s.rows.iter().chain(std::iter::once(&s.header)))
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        let mut t = output::table::Table::new();
        t.indent = "  ".into();
        for _ in 0..cols {
            t = t.column("", Align::Left);
        }
        for s in &self.sections {
            if !s.header.is_empty() {
                t.rows.push(s.header.clone());
            }
            t.rows.extend(s.rows.iter().cloned());
        }
        let rendered = t.render(Width::All);
        // The first line is the (empty) heading line.
        let mut lines = rendered.lines().skip(1);
        let mut out = String::new();
        for (k, s) in self.sections.iter().enumerate() {
            if k > 0 {
                out.push('\n');
            }
            out.push_str(&s.title);
            out.push('\n');
            let n = s.rows.len() + usize::from(!s.header.is_empty());
            for line in lines.by_ref().take(n) {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// Writes `text` to stdout; a closed pipe (`gpubench models | head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

use crate::output;
use crate::output::table::{Align, Width};

/// Thousands separators (`1,023,410`): one style for every command.
pub use crate::output::format::thousands;

/// A rate or amount with sensible precision: 3 significant figures below 1,000, whole
/// numbers with separators above.
pub fn amount(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        thousands(v, 0)
    } else if a >= 100.0 {
        thousands(v, 1)
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Scientific notation for FLOPs: `5.477e23`.
pub fn sci(v: f64) -> String {
    format!("{v:.3e}")
}

/// A fraction as a percentage: `47.6 %`.
pub fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// Dollars: `$142,790,000`.
pub fn usd(v: f64) -> String {
    format!("${}", thousands(v, 0))
}

/// Signed relative change `b / a − 1`: `+12.3 %`, `−4.0 %`.
pub fn change(a: f64, b: f64) -> String {
    if a == 0.0 || !a.is_finite() || !b.is_finite() {
        return String::new();
    }
    let r = (b / a - 1.0) * 100.0;
    if r.abs() < 0.05 {
        "same".to_string()
    } else if r > 0.0 {
        format!("+{r:.1} %")
    } else {
        format!("−{:.1} %", -r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1_023_410.4, 0), "1,023,410");
        assert_eq!(thousands(142_790_000.0, 0), "142,790,000");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(-1234.5, 1), "-1,234.5");
        assert_eq!(thousands(-0.01, 0), "0");
        assert_eq!(usd(142_790_000.0), "$142,790,000");
        assert_eq!(pct(0.4765), "47.6 %");
        assert_eq!(sci(5.4768e23), "5.477e23");
        assert_eq!(amount(380.0), "380.0");
        assert_eq!(amount(778_240.0), "778,240");
        assert_eq!(amount(20.8234), "20.82");
        assert_eq!(change(100.0, 112.3), "+12.3 %");
        assert_eq!(change(100.0, 96.0), "−4.0 %");
        assert_eq!(change(100.0, 100.0), "same");
    }

    #[test]
    fn table_aligns_columns_across_sections() {
        let mut a = Section::new("A");
        a.row(["short", "1", "x"]);
        let mut b = Section::new("B");
        b.row(["a much longer label", "22", "y"]);
        let t = Table {
            sections: vec![a, b],
        }
        .render();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1].find('1'), lines[4].find("22"));
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
    }
}
