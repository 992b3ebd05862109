//! Line charts (the o1 curves: accuracy vs. training compute, accuracy vs. test-time compute)
//! rendered with `plotters` to SVG (for files and for inlining into HTML) and to PNG.
//!
//! Text in PNGs is drawn with DejaVu Sans, embedded in the binary (see `assets/`), so charts
//! render the same on every machine without system fonts.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Width and height of every chart, in pixels.
pub const CHART_SIZE: (u32, u32) = (800, 500);

/// The font family name the embedded font is registered under.
const FONT: &str = "sans-serif";

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Distinct line colours (the Tableau 10 palette), used in order and then reused.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One line of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// `(x, y)` points, drawn in the given order. Non-finite points, and on a logarithmic x
    /// axis points with `x <= 0`, are skipped.
    pub points: Vec<(f64, f64)>,
    /// Draw the line dashed (e.g. for a baseline or a reference curve).
    pub dashed: bool,
}

/// A line chart: x may be logarithmic (compute axes are).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Chart {
    /// Drawn above the plot.
    pub title: String,
    /// Description of the x axis.
    pub x_label: String,
    /// Description of the y axis.
    pub y_label: String,
    /// Logarithmic (base 10) x axis.
    pub log_x: bool,
    /// Fixed y range `(low, high)`; `None`: fitted to the data with a small margin.
    pub y_range: Option<(f64, f64)>,
    /// The lines, drawn in order with distinct colours.
    pub series: Vec<Series>,
}

/// The chart as an SVG document (for files and for inlining into HTML).
pub fn chart_svg(chart: &Chart) -> Result<String> {
    let plan = Plan::new(chart)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        draw(&root, &plan)?;
        root.present().map_err(|e| plot_error(chart, e))?;
    }
    Ok(svg)
}

/// The chart as PNG bytes.
pub fn chart_png(chart: &Chart) -> Result<Vec<u8>> {
    let plan = Plan::new(chart)?;
    let (width, height) = CHART_SIZE;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, CHART_SIZE).into_drawing_area();
        draw(&root, &plan)?;
        root.present().map_err(|e| plot_error(chart, e))?;
    }
    let encode_error =
        |e: png::EncodingError| Error::Plot(format!("could not encode chart {:?} as PNG: {e}", chart.title));
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = encoder.write_header().map_err(encode_error)?;
    writer.write_image_data(&rgb).map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    Ok(bytes)
}

/// Writes `<stem>.svg` and `<stem>.png` (atomically: temp file + rename); returns both paths.
///
/// The extensions are appended, so a stem such as `runs/curve.v2` gives `runs/curve.v2.svg`.
/// The parent directory is created if missing.
pub fn write_chart(chart: &Chart, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    let svg = chart_svg(chart)?;
    let png = chart_png(chart)?;
    if let Some(parent) = stem.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|why| Error::Io { path: parent.to_path_buf(), why })?;
    }
    let svg_path = with_suffix(stem, ".svg");
    let png_path = with_suffix(stem, ".png");
    write_atomically(&svg_path, svg.as_bytes())?;
    write_atomically(&png_path, &png)?;
    Ok((svg_path, png_path))
}

/// `path` with `suffix` appended to its last component.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so that
/// readers never see a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_error = |why| Error::Io { path: path.to_path_buf(), why };
    let file_name = path.file_name().ok_or_else(|| {
        io_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name; give a stem such as `runs/curve`",
        ))
    })?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(why) = result {
        // Best effort: do not leave the temporary file behind.
        let _ = fs::remove_file(&tmp);
        return Err(io_error(why));
    }
    Ok(())
}

/// A plotting-library failure, with the chart it happened in.
fn plot_error(chart: &Chart, e: impl std::fmt::Display) -> Error {
    Error::Plot(format!("could not draw chart {:?}: {e}", chart.title))
}

/// Registers the embedded font once per process.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Plot(
            "the embedded font assets/DejaVuSans.ttf could not be parsed; the crate's assets \
             are damaged: restore crates/eval/assets from version control"
                .into(),
        ))
    }
}

/// One series ready to draw: colour chosen, points filtered and (on a log axis) transformed.
struct Line<'a> {
    name: &'a str,
    color: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// Everything `draw` needs, computed (and validated) before any backend is touched.
struct Plan<'a> {
    chart: &'a Chart,
    lines: Vec<Line<'a>>,
    /// Plotted x range; in log10 space when `chart.log_x`.
    x: Axis,
    y: Axis,
    /// Where the legend goes (the corner the data leaves emptiest); `None`: no named series.
    legend: Option<SeriesLabelPosition>,
}

/// A plotted linear range with its labelled (bold) and grid-only (light) ticks; a plotters
/// coordinate in its own right, so the ticks are exactly the ones chosen here.
#[derive(Debug, Clone)]
struct Axis {
    low: f64,
    high: f64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (start, end): (i32, i32)) -> i32 {
        let fraction = (value - self.low) / (self.high - self.low);
        let pixels = f64::from(end - start) * fraction;
        // Clamp far-away values (clipped anyway) so the cast cannot saturate oddly.
        start + pixels.clamp(-1e6, 1e6).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.low..self.high
    }
}

impl<'a> Plan<'a> {
    fn new(chart: &'a Chart) -> Result<Self> {
        ensure_font()?;
        let lines: Vec<Line<'a>> = chart
            .series
            .iter()
            .enumerate()
            .map(|(i, series)| Line {
                name: &series.name,
                color: PALETTE[i % PALETTE.len()],
                dashed: series.dashed,
                points: series
                    .points
                    .iter()
                    .filter(|(x, y)| x.is_finite() && y.is_finite() && (!chart.log_x || *x > 0.0))
                    .map(|&(x, y)| if chart.log_x { (x.log10(), y) } else { (x, y) })
                    .collect(),
            })
            .filter(|line| !line.points.is_empty())
            .collect();
        let all = || lines.iter().flat_map(|line| line.points.iter());
        let Some(x_span) = span(all().map(|p| p.0)) else {
            let why = if chart.log_x {
                "every point is non-finite or has x <= 0 (the x axis is logarithmic)"
            } else {
                "every point is non-finite"
            };
            return Err(Error::Plot(format!(
                "chart {:?} has no drawable point ({} series): {why}; give at least one point \
                 with finite x and y{}",
                chart.title,
                chart.series.len(),
                if chart.log_x { " and x > 0" } else { "" },
            )));
        };
        let (x_low, x_high) = pad(x_span, chart.log_x);
        let x = if chart.log_x { log_axis(x_low, x_high) } else { linear_axis(x_low, x_high) };
        let (y_low, y_high) = match chart.y_range {
            Some((low, high)) => {
                if !(low.is_finite() && high.is_finite() && low < high) {
                    return Err(Error::Plot(format!(
                        "chart {:?} has y_range ({low}, {high}); give finite bounds with \
                         low < high, or None to fit the data",
                        chart.title
                    )));
                }
                (low, high)
            }
            None => pad(span(all().map(|p| p.1)).unwrap_or((0.0, 1.0)), false),
        };
        let y = linear_axis(y_low, y_high);
        let legend = legend_corner(&lines, &x, &y);
        Ok(Self { chart, lines, x, y, legend })
    }
}

/// The plot corner whose legend-sized box covers the fewest markers and line samples,
/// preferring lower right (empty under rising accuracy curves), then the other corners.
fn legend_corner(lines: &[Line<'_>], x: &Axis, y: &Axis) -> Option<SeriesLabelPosition> {
    let named: Vec<&str> = lines.iter().map(|line| line.name).filter(|name| !name.is_empty()).collect();
    let widest = named.iter().map(|name| name.chars().count()).max()?;
    // Rough legend size as a fraction of the plotting area (about 700 x 390 pixels).
    let width = ((widest as f64 * 8.0 + 60.0) / 700.0).min(1.0);
    let height = ((named.len() as f64 * 18.0 + 30.0) / 390.0).min(1.0);
    let norm = |(px, py): (f64, f64)| ((px - x.low) / (x.high - x.low), (py - y.low) / (y.high - y.low));
    let mut samples: Vec<(f64, f64)> = Vec::new();
    for line in lines {
        samples.extend(line.points.iter().map(|&p| norm(p)));
        for pair in line.points.windows(2) {
            let ((x0, y0), (x1, y1)) = (norm(pair[0]), norm(pair[1]));
            samples.extend((1..16).map(|i| {
                let t = f64::from(i) / 16.0;
                (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            }));
        }
    }
    let (left, right) = (0.0..=width, 1.0 - width..=1.0);
    let (bottom, top) = (0.0..=height, 1.0 - height..=1.0);
    let corners = [
        (SeriesLabelPosition::LowerRight, &right, &bottom),
        (SeriesLabelPosition::UpperLeft, &left, &top),
        (SeriesLabelPosition::UpperRight, &right, &top),
        (SeriesLabelPosition::LowerLeft, &left, &bottom),
    ];
    corners
        .into_iter()
        .min_by_key(|(_, xs, ys)| samples.iter().filter(|(sx, sy)| xs.contains(sx) && ys.contains(sy)).count())
        .map(|(corner, _, _)| corner)
}

/// The smallest and largest value, if any.
fn span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((low, high)) => Some((low.min(v), high.max(v))),
    })
}

/// Widens a degenerate range (one value) and adds a 5% margin on each side.
fn pad((low, high): (f64, f64), log: bool) -> (f64, f64) {
    let (low, high) = if high - low > f64::EPSILON * low.abs().max(high.abs()).max(1.0) {
        (low, high)
    } else if log {
        // Half a decade either side.
        (low - 0.5, high + 0.5)
    } else {
        let half = (low.abs() * 0.1).max(0.5);
        (low - half, high + half)
    };
    let margin = (high - low) * 0.05;
    (low - margin, high + margin)
}

/// Evenly spaced round ticks (steps of 1, 2 or 5 times a power of ten), about `target` of them.
fn nice_ticks(low: f64, high: f64, target: usize) -> Vec<f64> {
    let span = high - low;
    if !(span > 0.0 && span.is_finite()) {
        return vec![];
    }
    let raw = span / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|step| *step >= raw).unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A linear axis with round ticks and a finer grid.
fn linear_axis(low: f64, high: f64) -> Axis {
    Axis { low, high, bold: nice_ticks(low, high, 8), light: nice_ticks(low, high, 40) }
}

/// A logarithmic axis over `low..high` in log10 space: ticks at powers of ten (with a light
/// grid at 2..9 times them), or at 1, 2, 5 times powers of ten, or at round linear values when
/// the range spans too little for either.
fn log_axis(low: f64, high: f64) -> Axis {
    let decades: Vec<f64> = ((low.ceil() as i64)..=(high.floor() as i64)).map(|k| k as f64).collect();
    let in_range = |v: &f64| *v >= low && *v <= high;
    let (bold, light) = if decades.len() >= 2 {
        let stride = decades.len().div_ceil(10);
        let bold: Vec<f64> = decades.iter().copied().step_by(stride).collect();
        let light = if stride == 1 && decades.len() <= 8 {
            ((low.floor() as i64)..=(high.floor() as i64))
                .flat_map(|k| (2..=9).map(move |m| k as f64 + f64::from(m).log10()))
                .filter(in_range)
                .collect()
        } else {
            decades
        };
        (bold, light)
    } else {
        let one_two_five: Vec<f64> = ((low.floor() as i64 - 1)..=(high.ceil() as i64))
            .flat_map(|k| [1.0f64, 2.0, 5.0].map(|m| k as f64 + m.log10()))
            .filter(in_range)
            .collect();
        if one_two_five.len() >= 3 {
            (one_two_five, vec![])
        } else {
            let linear = nice_ticks(10f64.powf(low), 10f64.powf(high), 5)
                .into_iter()
                .filter(|v| *v > 0.0)
                .map(f64::log10)
                .filter(in_range)
                .collect();
            (linear, vec![])
        }
    };
    Axis { low, high, bold, light }
}

/// A tick label: plain numbers for ordinary magnitudes (`0.25`, `1500`), scientific notation
/// for very large or small ones (`1e9`, `2.5e10`, `1e-5`), at most four significant digits.
fn format_number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return v.to_string();
    }
    let magnitude = v.abs();
    if !(1e-3..1e5).contains(&magnitude) {
        let s = format!("{v:.2e}");
        match s.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => s,
        }
    } else {
        let decimals = (3 - magnitude.log10().floor() as i32).clamp(0, 6) as usize;
        trim_zeros(&format!("{v:.decimals$}"))
    }
}

/// `"2.50"` → `"2.5"`, `"3.00"` → `"3"`; integers unchanged.
fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// Draws the planned chart on any backend.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, plan: &Plan<'_>) -> Result<()> {
    let chart = plan.chart;
    let err = |e| plot_error(chart, e);
    root.fill(&WHITE).map_err(err)?;
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (FONT, 22).into_font())
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(65)
        .build_cartesian_2d(plan.x.clone(), plan.y.clone())
        .map_err(err)?;

    let log_x = chart.log_x;
    let x_format = move |v: &f64| format_number(if log_x { 10f64.powf(*v) } else { *v });
    let y_format = |v: &f64| format_number(*v);
    ctx.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .bold_line_style(RGBColor(205, 205, 205))
        .light_line_style(RGBColor(238, 238, 238))
        .axis_style(RGBColor(90, 90, 90))
        .draw()
        .map_err(err)?;

    for line in &plan.lines {
        let stroke = line.color.stroke_width(2);
        let fill = line.color.filled();
        let points = line.points.iter().copied();
        let drawn = if line.dashed {
            ctx.draw_series(DashedLineSeries::new(points, 8, 5, stroke))
        } else {
            ctx.draw_series(LineSeries::new(points, stroke))
        }
        .map_err(err)?;
        if !line.name.is_empty() {
            // Three segments: touching for a solid line, apart for a dashed one.
            let segments = if line.dashed { [(0, 6), (9, 15), (18, 24)] } else { [(0, 8), (8, 16), (16, 24)] };
            drawn.label(line.name).legend(move |(x, y)| {
                let [a, b, c] = segments.map(|(from, to)| PathElement::new(vec![(from, 0), (to, 0)], stroke));
                EmptyElement::at((x, y)) + a + b + c + Circle::new((12, 0), 4, fill)
            });
        }
        ctx.draw_series(line.points.iter().map(|&p| Circle::new(p, 4, fill))).map_err(err)?;
    }

    if let Some(corner) = plan.legend.clone() {
        ctx.configure_series_labels()
            .position(corner)
            .label_font((FONT, 14))
            .legend_area_size(32)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .margin(10)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(name: &str, points: &[(f64, f64)]) -> Series {
        Series { name: name.into(), points: points.to_vec(), dashed: false }
    }

    fn chart(log_x: bool, series: Vec<Series>) -> Chart {
        Chart {
            title: "Accuracy vs test-time compute".into(),
            x_label: "thinking tokens".into(),
            y_label: "pass@1".into(),
            log_x,
            y_range: Some((0.0, 1.0)),
            series,
        }
    }

    /// `(width, height)` from the IHDR chunk, after checking the PNG signature.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        (be(16), be(20))
    }

    #[test]
    fn svg_has_title_and_series_names() {
        let mut dashed = curve("majority vote", &[(1.0, 0.3), (2.0, 0.5), (4.0, 0.6)]);
        dashed.dashed = true;
        let c = chart(false, vec![curve("greedy", &[(1.0, 0.2), (4.0, 0.4)]), dashed]);
        let svg = chart_svg(&c).expect("renders");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("Accuracy vs test-time compute"));
        assert!(svg.contains("greedy") && svg.contains("majority vote"));
        assert!(svg.contains("thinking tokens") && svg.contains("pass@1"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn png_has_signature_and_size() {
        let c = chart(false, vec![curve("a", &[(0.0, 0.1), (1.0, 0.9)])]);
        let png = chart_png(&c).expect("renders");
        assert_eq!(png_size(&png), CHART_SIZE);
        let decoder = png::Decoder::new(png.as_slice());
        let reader = decoder.read_info().expect("decodes");
        assert_eq!((reader.info().width, reader.info().height), CHART_SIZE);
        // Something other than the white background was drawn.
        let mut reader = reader;
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).expect("reads the image");
        assert!(buf.iter().any(|b| *b < 128));
    }

    #[test]
    fn log_x_spanning_six_decades_renders_with_readable_ticks() {
        let points: Vec<(f64, f64)> = (6..=12).map(|k| (10f64.powi(k), f64::from(k - 6) / 6.0)).collect();
        let c = chart(true, vec![curve("RL", &points)]);
        let svg = chart_svg(&c).expect("renders");
        for label in ["1e6", "1e9", "1e12"] {
            assert!(svg.contains(&format!(">\n{label}\n<")), "no tick {label}");
        }
        assert!(!chart_png(&c).expect("renders").is_empty());
    }

    #[test]
    fn narrow_log_range_still_has_ticks() {
        let c = chart(true, vec![curve("a", &[(120.0, 0.2), (300.0, 0.4)])]);
        let plan = Plan::new(&c).expect("plans");
        assert!(plan.x.bold.len() >= 2, "{:?}", plan.x.bold);
        chart_svg(&c).expect("renders");
    }

    #[test]
    fn single_point_and_equal_x_render() {
        let one = chart(true, vec![curve("one", &[(1e9, 0.5)])]);
        chart_svg(&one).expect("one point, log x");
        chart_png(&one).expect("one point, log x");
        let mut equal_x = chart(false, vec![curve("same x", &[(3.0, 0.1), (3.0, 0.7)])]);
        equal_x.y_range = None;
        chart_svg(&equal_x).expect("equal x");
        chart_png(&equal_x).expect("equal x");
        let zero = Chart { y_range: None, ..chart(false, vec![curve("origin", &[(0.0, 0.0)])]) };
        chart_svg(&zero).expect("single point at the origin");
    }

    #[test]
    fn empty_chart_is_an_error() {
        let err = chart_svg(&chart(false, vec![])).expect_err("nothing to draw");
        assert!(err.to_string().contains("no drawable point"), "{err}");
        let err =
            chart_png(&chart(true, vec![curve("a", &[(0.0, 0.5), (f64::NAN, 0.1)])])).expect_err("nothing drawable");
        assert!(err.to_string().contains("x <= 0"), "{err}");
    }

    #[test]
    fn non_positive_x_is_skipped_on_log_axis() {
        let c = chart(true, vec![curve("a", &[(-1.0, 0.9), (0.0, 0.9), (10.0, 0.2), (1000.0, 0.4)])]);
        let plan = Plan::new(&c).expect("plans");
        assert_eq!(plan.lines[0].points, vec![(1.0, 0.2), (3.0, 0.4)]);
        chart_svg(&c).expect("renders");
        // Non-finite points are skipped on any axis.
        let c = chart(false, vec![curve("b", &[(f64::INFINITY, 0.1), (1.0, f64::NAN), (2.0, 0.3)])]);
        assert_eq!(Plan::new(&c).expect("plans").lines[0].points, vec![(2.0, 0.3)]);
    }

    #[test]
    fn legend_avoids_the_data() {
        // A falling line crosses the lower-right corner; a rising one the upper right.
        let falling = chart(false, vec![curve("falling", &[(0.0, 1.0), (1.0, 0.0)])]);
        let corner = Plan::new(&falling).expect("plans").legend;
        assert!(matches!(corner, Some(SeriesLabelPosition::LowerLeft | SeriesLabelPosition::UpperRight)), "{corner:?}");
        let rising = chart(false, vec![curve("rising", &[(0.0, 0.0), (1.0, 1.0)])]);
        assert_eq!(Plan::new(&rising).expect("plans").legend, Some(SeriesLabelPosition::LowerRight));
        let unnamed = chart(false, vec![curve("", &[(0.0, 0.0), (1.0, 1.0)])]);
        assert_eq!(Plan::new(&unnamed).expect("plans").legend, None);
        chart_svg(&unnamed).expect("renders without a legend");
    }

    #[test]
    fn bad_y_range_is_an_error() {
        let mut c = chart(false, vec![curve("a", &[(1.0, 0.5)])]);
        c.y_range = Some((1.0, 1.0));
        let err = chart_svg(&c).expect_err("empty y range");
        assert!(err.to_string().contains("low < high"), "{err}");
    }

    #[test]
    fn numbers_format_readably() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(1500.0), "1500");
        assert_eq!(format_number(199.999_999_9), "200");
        assert_eq!(format_number(1e9), "1e9");
        assert_eq!(format_number(1.000_000_000_1e12), "1e12");
        assert_eq!(format_number(2.5e10), "2.5e10");
        assert_eq!(format_number(1e-5), "1e-5");
        assert_eq!(format_number(-0.5), "-0.5");
    }

    #[test]
    fn write_chart_writes_both_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let stem = dir.path().join("curves").join("test_time");
        let c = chart(true, vec![curve("a", &[(1e3, 0.2), (1e5, 0.6)])]);
        let (svg, png) = write_chart(&c, &stem).expect("writes");
        assert_eq!(svg, dir.path().join("curves/test_time.svg"));
        assert!(fs::read_to_string(&svg).expect("svg").contains("<svg"));
        assert_eq!(png_size(&fs::read(&png).expect("png")), CHART_SIZE);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("curves"))
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
