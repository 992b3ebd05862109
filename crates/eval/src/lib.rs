//! Evaluation: run an engine on held-out problems, grade every sample, and report pass@1
//! (greedy and sampled), unbiased pass@k and thinking length per family and level; draw
//! the curves (accuracy vs. training compute, accuracy vs. test-time compute) as SVG/PNG
//! charts and self-contained HTML reports.

use std::path::PathBuf;

mod bench;
mod html;
mod passk;
mod plot;
mod report;
mod sweep;

pub use bench::{run_benchmark, wilson_interval, BenchRecord, BenchReport};
pub use html::{report_html, Section, Table};
pub use passk::pass_at_k;
pub use plot::{chart_png, chart_svg, write_chart, Chart, Series, CHART_SIZE};
pub use report::{evaluate, EvalConfig, EvalReport, EvalRow};
pub use sweep::{sweep, AutoComparison, Method, SweepConfig, SweepPoint, SweepReport};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed.
    #[error(transparent)]
    Think(#[from] ponder_think::Error),
    /// A task could not be generated.
    #[error(transparent)]
    Task(#[from] ponder_tasks::Error),
    /// A chart could not be drawn (no drawable point, a bad range, a rendering failure).
    #[error("{0}")]
    Plot(String),
    /// A report could not be assembled from its parts.
    #[error("{0}")]
    Report(String),
    /// A file could not be written.
    #[error("could not write {}: {why}; check that the directory exists, is writable and has free space", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        why: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
