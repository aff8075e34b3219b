//! The `cargo xtask fetch --list` table.

use crate::fetch::{self, FetchOptions, Status};
use crate::registry::{Dataset, Registry};

/// A size in decimal units, e.g. `11.6 MB`.
///
/// ```
/// assert_eq!(xtask::list::human_size(999), "999 B");
/// assert_eq!(xtask::list::human_size(11_594_722), "11.6 MB");
/// ```
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The "installed?" cell for one dataset: `in repo`, `yes`, `no`, `partial i/n` or `CORRUPT`.
pub fn installed_cell(opts: &FetchOptions, dataset: &Dataset) -> String {
    let statuses: Vec<Status> = dataset
        .files
        .iter()
        .map(|f| fetch::file_status(opts, dataset, f))
        .collect();
    let n = statuses.len();
    let ok = statuses.iter().filter(|s| **s == Status::Verified).count();
    let corrupt = statuses.iter().any(|s| matches!(s, Status::Corrupt(_)));
    match (dataset.shipped, corrupt, ok) {
        (_, true, _) => "CORRUPT (fetch again)".to_string(),
        (true, false, k) if k == n => "in repo".to_string(),
        (true, false, _) => "in repo: MISSING".to_string(),
        (false, false, k) if k == n => "yes".to_string(),
        (false, false, 0) => "no".to_string(),
        (false, false, k) => format!("partial {k}/{n}"),
    }
}

/// Renders the table: name, files, size, licence, installed?
pub fn table(registry: &Registry, opts: &FetchOptions) -> String {
    let header = ["name", "files", "size", "licence", "installed?"].map(String::from);
    let mut rows = vec![header];
    for d in &registry.datasets {
        rows.push([
            d.name.clone(),
            d.files.len().to_string(),
            human_size(d.total_size()),
            d.license_short.clone(),
            installed_cell(opts, d),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                // Numbers right-aligned, text left-aligned.
                if c == 1 || c == 2 {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "cache: {}   (shipped datasets live in {})\n",
        opts.cache_dir.display(),
        crate::paths::shipped_root(&opts.workspace).display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn human_size_rounds_to_one_decimal_and_switches_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1000), "1.0 kB");
        assert_eq!(human_size(119_913), "119.9 kB");
        assert_eq!(human_size(999_999), "1.0 MB");
        assert_eq!(human_size(26_421_880), "26.4 MB");
    }
}
