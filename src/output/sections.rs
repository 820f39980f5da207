//! Titled sections of rows under one set of column widths, the layout of the planning
//! commands' reports (`estimate`, `plan`, `memory`, `scale`, `models`, `gpus`), so every
//! figure lines up with its unit and source across sections.
//!
//! A view over the one column aligner, [`Table`]: every row of every section goes into one
//! table, so columns are padded to their widest cell across the whole report, and the section
//! titles are set between its lines.

use super::table::{Align, Table, Width};

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
pub struct Sections {
    pub sections: Vec<Section>,
}

impl Sections {
    /// Renders with two-space indents and two spaces between columns; trailing spaces trimmed.
    /// Every row of every section goes through one [`Table`], so columns line up across
    /// sections; the titles are set between its lines.
    pub fn render(&self) -> String {
        let cols = self
            .sections
            .iter()
            .flat_map(|s| s.rows.iter().chain(std::iter::once(&s.header)))
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        let mut t = Table::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_across_sections() {
        let mut a = Section::new("A");
        a.row(["short", "1", "x"]);
        let mut b = Section::new("B");
        b.row(["a much longer label", "22", "y"]);
        let t = Sections {
            sections: vec![a, b],
        }
        .render();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1].find('1'), lines[4].find("22"));
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
    }
}
