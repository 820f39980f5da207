//! One aligned text table for the terminal: columns with an alignment and a priority, so a
//! table fits a width (100 columns by default) by leaving out its least needed columns,
//! and `--wide` shows them all.

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// How wide the printed table may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// At most this many characters a line (columns left out until it fits).
    Fit(usize),
    /// Every column, however wide (`--wide`).
    All,
}

/// The width tables fit by default: readable in a terminal, a pull request or a paper.
pub const DEFAULT_WIDTH: usize = 100;

impl Width {
    /// `Fit(DEFAULT_WIDTH)`, or `All` with `--wide`.
    pub fn from_wide(wide: bool) -> Width {
        if wide {
            Width::All
        } else {
            Width::Fit(DEFAULT_WIDTH)
        }
    }

    /// The width notes are wrapped to (`usize::MAX` for `All`).
    pub fn columns(self) -> usize {
        match self {
            Width::Fit(w) => w,
            Width::All => usize::MAX,
        }
    }
}

/// One column: heading, alignment, and priority (0 = always shown; otherwise, when the
/// table is too wide, the highest number goes first).
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub align: Align,
    pub priority: u8,
}

/// Columns and rows of cells, rendered with two spaces between columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
    /// Text before each line (e.g. two spaces under a title).
    pub indent: String,
    /// Headings line up as their column's cells do (a right-aligned column's heading on the
    /// right); otherwise every heading reads from the left.
    pub aligned_headings: bool,
}

const GAP: usize = 2;

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// Adds a column that is always shown.
    pub fn column(mut self, header: impl Into<String>, align: Align) -> Table {
        self.columns.push(Column {
            header: header.into(),
            align,
            priority: 0,
        });
        self
    }

    /// Adds a column left out first (highest `priority` first) when the table is too wide.
    pub fn optional(mut self, header: impl Into<String>, align: Align, priority: u8) -> Table {
        self.columns.push(Column {
            header: header.into(),
            align,
            priority,
        });
        self
    }

    /// Headings line up as their column's cells do.
    pub fn aligned_headings(mut self) -> Table {
        self.aligned_headings = true;
        self
    }

    /// A table whose first row holds the headings and whose columns are all left-aligned
    /// and always shown.
    pub fn from_rows(rows: &[Vec<String>]) -> Table {
        let mut t = Table::new();
        if let Some((head, body)) = rows.split_first() {
            for h in head {
                t = t.column(h.clone(), Align::Left);
            }
            t.rows = body.to_vec();
        }
        t
    }

    /// Adds a row; missing cells are empty.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    fn cell(&self, row: &[String], c: usize) -> String {
        row.get(c).cloned().unwrap_or_default()
    }

    fn natural_widths(&self) -> Vec<usize> {
        (0..self.columns.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| self.cell(r, c).chars().count())
                    .chain(std::iter::once(self.columns[c].header.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Which columns are shown at `width`.
    fn shown(&self, width: Width) -> Vec<bool> {
        let widths = self.natural_widths();
        let Width::Fit(max) = width else {
            return vec![true; self.columns.len()];
        };
        // An optional column with nothing to say ("–" in every row) is left out quietly.
        let mut shown: Vec<bool> = (0..self.columns.len()).map(|c| !self.blank(c)).collect();
        let total = |shown: &[bool]| -> usize {
            let n = shown.iter().filter(|s| **s).count();
            self.indent.chars().count()
                + widths
                    .iter()
                    .zip(shown)
                    .filter(|(_, s)| **s)
                    .map(|(w, _)| *w)
                    .sum::<usize>()
                + GAP * n.saturating_sub(1)
        };
        while total(&shown) > max {
            // The last column of the highest priority goes first.
            let drop = (0..self.columns.len())
                .filter(|&c| shown[c] && self.columns[c].priority > 0)
                .max_by_key(|&c| (self.columns[c].priority, c));
            match drop {
                Some(c) => shown[c] = false,
                None => break,
            }
        }
        shown
    }

    /// Whether `c` is optional and every row's cell in it is empty or "–".
    fn blank(&self, c: usize) -> bool {
        self.columns[c].priority > 0
            && self.rows.iter().all(|r| {
                let cell = self.cell(r, c);
                cell.is_empty() || cell == "–"
            })
    }

    /// Headings of the columns with something to say left out at `width` (for a "--wide
    /// shows …" note).
    pub fn hidden(&self, width: Width) -> Vec<String> {
        self.shown(width)
            .iter()
            .enumerate()
            .filter(|(c, s)| !**s && !self.blank(*c))
            .map(|(c, _)| self.columns[c].header.clone())
            .collect()
    }

    /// The line naming the columns left out at `width`, wrapped to it, with its newline
    /// (empty when nothing was left out).
    pub fn left_out_line(&self, width: Width) -> String {
        let hidden = self.hidden(width);
        if hidden.is_empty() {
            return String::new();
        }
        let line = format!(
            "Columns left out to fit {} characters: {} (--wide shows every column).",
            width.columns(),
            hidden.join(", ")
        );
        super::format::fit_line(&line, width.columns()) + "\n"
    }

    /// The table as text, one line per row under a heading line; trailing spaces trimmed.
    pub fn render(&self, width: Width) -> String {
        let widths = self.natural_widths();
        let shown = self.shown(width);
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| c.header.clone()).collect();
        for (i, row) in std::iter::once(&header).chain(&self.rows).enumerate() {
            let mut line = self.indent.clone();
            let mut first = true;
            for (c, col) in self.columns.iter().enumerate() {
                if !shown[c] {
                    continue;
                }
                if !first {
                    line.push_str(&" ".repeat(GAP));
                }
                first = false;
                let cell = self.cell(row, c);
                let pad = " ".repeat(widths[c] - cell.chars().count());
                // Headings read from the left (unless aligned); numbers line up on the right.
                if col.align == Align::Right && (i > 0 || self.aligned_headings) {
                    line.push_str(&pad);
                    line.push_str(&cell);
                } else {
                    line.push_str(&cell);
                    line.push_str(&pad);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new()
            .column("name", Align::Left)
            .column("value", Align::Right)
            .optional("detail", Align::Left, 2)
            .optional("more", Align::Left, 1);
        t.row(["a", "1", "x".repeat(30).as_str(), "y".repeat(20).as_str()]);
        t.row(["bb", "22", "z", "w"]);
        t
    }

    #[test]
    fn aligns_left_and_right() {
        let s = sample().render(Width::All);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[0].starts_with("name  value  detail"), "{s}");
        assert!(lines[1].starts_with("a         1  xxx"), "{s}");
        assert!(lines[2].starts_with("bb       22  z"), "{s}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn aligned_headings_sit_over_right_aligned_numbers() {
        let mut t = Table::new()
            .column("name", Align::Left)
            .column("TFLOPS", Align::Right);
        t.row(["a", "1.5"]);
        t.row(["bb", "1,812.3"]);
        assert_eq!(
            t.render(Width::All),
            "name  TFLOPS\na         1.5\nbb    1,812.3\n"
        );
        let t = t.aligned_headings();
        assert_eq!(
            t.render(Width::All),
            "name   TFLOPS\na         1.5\nbb    1,812.3\n"
        );
    }

    #[test]
    fn fits_by_leaving_out_the_highest_priority_first() {
        let t = sample();
        // All: 4 + 2 + 5 + 2 + 30 + 2 + 20 = 65 columns.
        assert_eq!(t.hidden(Width::Fit(65)), Vec::<String>::new());
        assert_eq!(t.hidden(Width::Fit(50)), vec!["detail".to_string()]);
        let s = t.render(Width::Fit(50));
        assert!(s.lines().all(|l| l.chars().count() <= 50), "{s}");
        assert!(s.contains("more") && !s.contains("detail"));
        assert_eq!(t.hidden(Width::Fit(10)).len(), 2);
        assert_eq!(
            t.left_out_line(Width::Fit(50)),
            "Columns left out to fit 50 characters: detail\n  (--wide shows every column).\n"
        );
        assert_eq!(t.left_out_line(Width::All), "");
        // Required columns stay even when they cannot fit.
        assert!(t.render(Width::Fit(5)).contains("value"));
    }

    #[test]
    fn optional_columns_with_nothing_to_say_are_left_out_quietly() {
        let mut t = Table::new()
            .column("name", Align::Left)
            .optional("peak", Align::Right, 1);
        t.row(["a", "–"]);
        t.row(["b", ""]);
        assert!(!t.render(Width::Fit(100)).contains("peak"));
        assert!(t.hidden(Width::Fit(100)).is_empty());
        assert!(t.render(Width::All).contains("peak"));
        t.row(["c", "12.5"]);
        assert!(t.render(Width::Fit(100)).contains("peak"));
    }
}
