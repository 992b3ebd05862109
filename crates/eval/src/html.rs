//! A self-contained HTML report page: inline CSS, charts inlined as SVG, no external
//! resources, so the file can be mailed, archived or opened offline.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::{chart_svg, Chart, Error, Result};

/// One section of a report: a heading, text, charts and an optional table, in that order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Section {
    /// The section heading.
    pub heading: String,
    /// Plain-text paragraphs (escaped; no markup).
    pub paragraphs: Vec<String>,
    /// Charts, inlined as SVG.
    pub charts: Vec<Chart>,
    /// A table after the charts.
    pub table: Option<Table>,
}

/// A plain-text table; every row has one cell per header column.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells. Cells that look numeric are right-aligned.
    pub rows: Vec<Vec<String>>,
}

/// Inline style sheet: readable body width, system fonts, zebra tables.
const CSS: &str = "\
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d232b;
  font: 16px/1.55 -apple-system, BlinkMacSystemFont, \"Segoe UI\", Roboto, \"DejaVu Sans\", sans-serif; }
main { max-width: 880px; margin: 0 auto; padding: 32px 24px 64px; }
header { border-bottom: 1px solid #d8dce2; margin-bottom: 8px; }
h1 { font-size: 1.9em; margin: 0 0 4px; line-height: 1.2; }
.subtitle { color: #5b6673; margin: 0 0 20px; }
nav ol { margin: 12px 0 0; padding-left: 1.4em; color: #5b6673; }
nav a { color: #2463b5; text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px;
  padding: 8px 24px 20px; margin: 24px 0; }
h2 { font-size: 1.35em; margin: 16px 0 8px; }
figure { margin: 16px 0; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.table-wrap { overflow-x: auto; margin: 16px 0 4px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { padding: 6px 10px; border-bottom: 1px solid #e6e8eb; text-align: left; white-space: nowrap; }
th { background: #f0f2f5; font-weight: 600; border-bottom: 2px solid #d0d5db; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
";

/// The report as one self-contained HTML document.
///
/// All text (title, subtitle, headings, paragraphs, table cells) is escaped, so it may
/// contain any characters. A table row whose length differs from its header is an error.
pub fn report_html(title: &str, subtitle: &str, sections: &[Section]) -> Result<String> {
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n<header>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    if !subtitle.is_empty() {
        let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", escape(subtitle));
    }
    if sections.len() > 1 {
        out.push_str("<nav><ol>\n");
        for (i, section) in sections.iter().enumerate() {
            let _ = writeln!(out, "<li><a href=\"#section-{}\">{}</a></li>", i + 1, escape(&section.heading));
        }
        out.push_str("</ol></nav>\n");
    }
    out.push_str("</header>\n");
    for (i, section) in sections.iter().enumerate() {
        let _ = writeln!(out, "<section id=\"section-{}\">\n<h2>{}</h2>", i + 1, escape(&section.heading));
        for paragraph in &section.paragraphs {
            let _ = writeln!(out, "<p>{}</p>", escape(paragraph));
        }
        for chart in &section.charts {
            let _ = writeln!(
                out,
                "<figure role=\"img\" aria-label=\"{}\">\n{}</figure>",
                escape(&chart.title),
                chart_svg(chart)?
            );
        }
        if let Some(table) = &section.table {
            write_table(&mut out, &section.heading, table)?;
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(out)
}

/// Appends `table` as HTML; `heading` names its section in errors.
fn write_table(out: &mut String, heading: &str, table: &Table) -> Result<()> {
    let columns = table.header.len();
    if let Some((i, row)) = table.rows.iter().enumerate().find(|(_, row)| row.len() != columns) {
        return Err(Error::Report(format!(
            "the table in section {heading:?} has {columns} columns but row {} has {} cells; \
             give every row one cell per header column",
            i + 1,
            row.len()
        )));
    }
    // A column is numeric (right-aligned) when every non-empty cell in it is.
    let numeric: Vec<bool> = (0..columns)
        .map(|c| {
            let mut cells = table.rows.iter().map(|row| row[c].trim()).filter(|s| !s.is_empty());
            let mut any = false;
            cells.all(|s| {
                any = true;
                looks_numeric(s)
            }) && any
        })
        .collect();
    let class = |c: usize| if numeric[c] { " class=\"num\"" } else { "" };
    out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
    for (c, name) in table.header.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", class(c), escape(name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for (c, cell) in row.iter().enumerate() {
            let _ = write!(out, "<td{}>{}</td>", class(c), escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    Ok(())
}

/// A number, optionally with a sign, a percent sign or a `±` spread (`0.53`, `-2`, `41.5%`,
/// `1e9`, `0.61 ± 0.02`).
fn looks_numeric(s: &str) -> bool {
    s.split('±').map(|part| part.trim().trim_end_matches('%')).all(|part| part.parse::<f64>().is_ok())
}

/// Escapes the HTML special characters of `text`, for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Series;

    fn sample_chart() -> Chart {
        Chart {
            title: "Accuracy vs RL compute".into(),
            x_label: "training FLOPs".into(),
            y_label: "pass@1".into(),
            log_x: true,
            y_range: Some((0.0, 1.0)),
            series: vec![Series {
                name: "mini <script>x</script>".into(),
                points: vec![(1e9, 0.2), (1e10, 0.35), (1e11, 0.5)],
                dashed: false,
            }],
        }
    }

    #[test]
    fn escapes_text_and_inlines_svg() {
        let sections = [
            Section {
                heading: "Training <compute>".into(),
                paragraphs: vec!["<script>alert('x')</script> & more".into()],
                charts: vec![sample_chart()],
                table: Some(Table {
                    header: vec!["step".into(), "note".into()],
                    rows: vec![vec!["100".into(), "<b>bold</b>".into()]],
                }),
            },
            Section { heading: "Test-time compute".into(), ..Section::default() },
        ];
        let html = report_html("ponder <report>", "mini \"model\"", &sections).expect("renders");
        assert!(!html.contains("<script>"), "unescaped script tag");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
        assert!(html.contains("<title>ponder &lt;report&gt;</title>"));
        assert!(html.contains("mini &quot;model&quot;"));
        assert!(html.contains("Training &lt;compute&gt;"));
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"));
        assert!(html.contains("<svg") && html.contains("</svg>"));
        assert!(html.contains("Accuracy vs RL compute"));
        assert!(html.contains("<td class=\"num\">100</td>"));
        assert!(html.contains("href=\"#section-2\""));
        // Self-contained: nothing fetched from elsewhere.
        assert!(!html.contains("src=") && !html.contains("<link"));
        let without_namespaces = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_namespaces.contains("http"));
    }

    #[test]
    fn ragged_table_is_an_error() {
        let section = Section {
            heading: "Results".into(),
            table: Some(Table { header: vec!["a".into(), "b".into()], rows: vec![vec!["1".into()]] }),
            ..Section::default()
        };
        let err = report_html("t", "", &[section]).expect_err("ragged");
        assert!(err.to_string().contains("row 1 has 1 cells"), "{err}");
    }

    #[test]
    fn chart_errors_propagate() {
        let mut chart = sample_chart();
        chart.series.clear();
        let section = Section { heading: "Empty".into(), charts: vec![chart], ..Section::default() };
        assert!(report_html("t", "", &[section]).is_err());
    }

    #[test]
    fn numeric_cells() {
        for s in ["0.53", "-2", "41.5%", "1e9", "0.61 ± 0.02"] {
            assert!(looks_numeric(s), "{s}");
        }
        for s in ["n/a", "math", "", "1 2"] {
            assert!(!looks_numeric(s), "{s}");
        }
    }
}
