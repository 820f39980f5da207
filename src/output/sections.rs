//! Titled sections of rows under one set of column widths, the layout of the planning
//! commands' reports (`estimate`, `plan`, `memory`, `scale`, `models`, `gpus`), so every
//! figure lines up with its unit and source across sections.
//!
//! A view over the one column aligner, [`Table`]: every row of every section goes into one
//! table, so columns are padded to their widest cell across the whole report, and the section
//! titles are set between its lines.

use super::format::{fit_line, wrap};
use super::table::{Align, Table, Width, DEFAULT_WIDTH};

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
    /// Renders to fit [`DEFAULT_WIDTH`] columns (see [`Sections::render_to`]).
    pub fn render(&self) -> String {
        self.render_to(DEFAULT_WIDTH)
    }

    /// Renders with two-space indents and two spaces between columns; trailing spaces trimmed.
    /// Every row of every section goes through one [`Table`], so columns line up across
    /// sections; the titles are set between its lines. A row longer than `width` has its last
    /// cell (the source or note) wrapped under itself, and a long title wraps with a hanging
    /// indent.
    pub fn render_to(&self, width: usize) -> String {
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
        let mut widths = vec![0; cols];
        for row in &t.rows {
            for (c, cell) in row.iter().enumerate() {
                widths[c] = widths[c].max(cell.chars().count());
            }
        }
        let mut rows = self.sections.iter().flat_map(|s| {
            (!s.header.is_empty())
                .then_some(&s.header)
                .into_iter()
                .chain(&s.rows)
        });
        // The first line is the (empty) heading line.
        let mut lines = rendered.lines().skip(1);
        let mut out = String::new();
        for (k, s) in self.sections.iter().enumerate() {
            if k > 0 {
                out.push('\n');
            }
            out.push_str(&fit_line(&s.title, width));
            out.push('\n');
            let n = s.rows.len() + usize::from(!s.header.is_empty());
            for (line, row) in lines.by_ref().take(n).zip(rows.by_ref()) {
                out.push_str(&wrap_last_cell(line, row, &widths, width));
                out.push('\n');
            }
        }
        out
    }
}

/// The least room a wrapped last cell keeps beside the other cells; with less (a side-by-side
/// table's source column), the cell moves under the row instead of wrapping a word a line.
const MIN_WRAP: usize = 40;

/// Indent of a last cell moved under its row.
const UNDER_ROW: usize = 6;

/// `line` (the rendering of `row` under column `widths`) as it is when it fits `width`;
/// otherwise its last cell wrapped at word boundaries onto lines indented to that cell's
/// column, or, when that column leaves less than [`MIN_WRAP`] characters, onto lines under the
/// row indented by [`UNDER_ROW`].
fn wrap_last_cell(line: &str, row: &[String], widths: &[usize], width: usize) -> String {
    let Some(last) = row.iter().rposition(|c| !c.is_empty()) else {
        return line.to_string();
    };
    if line.chars().count() <= width || last == 0 {
        return line.to_string();
    }
    let start = 2 + widths[..last].iter().map(|w| w + 2).sum::<usize>();
    let prefix: String = line.chars().take(start).collect();
    if width.saturating_sub(start) < MIN_WRAP {
        let hang = " ".repeat(UNDER_ROW);
        let mut out = prefix.trim_end().to_string();
        for l in wrap(&row[last], width.saturating_sub(UNDER_ROW), "").lines() {
            out.push('\n');
            out.push_str(&hang);
            out.push_str(l);
        }
        return out;
    }
    let hang = " ".repeat(start);
    let body = wrap(&row[last], width.saturating_sub(start), "");
    let mut out = String::new();
    for (i, l) in body.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&hang);
        } else {
            out.push_str(&prefix);
        }
        out.push_str(l);
    }
    out
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

    #[test]
    fn a_long_last_cell_wraps_under_itself() {
        let mut a = Section::new(format!("Title {}", "word ".repeat(30)));
        a.row(["label", "1 GB", &"source words here ".repeat(8)]);
        a.row(["other", "22 GB", "short"]);
        let t = Sections { sections: vec![a] }.render_to(60);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{t}");
        assert!(
            lines[0].starts_with("Title word") && lines[1].starts_with("  word"),
            "{t}"
        );
        let row = lines.iter().position(|l| l.starts_with("  label")).unwrap();
        let col = lines[row].find("source").unwrap();
        assert_eq!(col, lines.last().unwrap().find("short").unwrap());
        // Continuation lines start at the source column.
        assert!(lines[row + 1].starts_with(&" ".repeat(col)), "{t}");
        assert!(lines[row + 1]
            .chars()
            .nth(col)
            .is_some_and(char::is_alphabetic));
        assert_eq!(t.matches("source").count(), 8);
        // A column that leaves too little room: the cell goes under its row, whole words.
        let mut b = Section::new("B");
        b.row([
            "a label that is long",
            "and a wide figure",
            &"words ".repeat(12),
        ]);
        let t = Sections { sections: vec![b] }.render_to(60);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1], "  a label that is long  and a wide figure", "{t}");
        assert!(
            lines[2..].iter().all(|l| l.starts_with("      words")),
            "{t}"
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{t}");
        assert_eq!(t.matches("words").count(), 12);
        // Nothing wraps when it fits.
        let wide = Sections {
            sections: vec![Section::new("x")],
        };
        assert_eq!(wide.render_to(60), "x\n");
    }
}
