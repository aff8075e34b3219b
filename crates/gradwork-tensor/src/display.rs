//! `Display` that prints like NumPy: nested brackets, aligned columns, `...` for big tensors.

use std::fmt;

use crate::tensor::Tensor;

/// Above this many elements, only the first and last [`EDGE_ITEMS`] of each axis are shown.
const SUMMARY_THRESHOLD: usize = 1000;
/// Items shown at each end of a summarised axis.
const EDGE_ITEMS: usize = 3;

fn format_value(x: f32) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if x == x.trunc() && x.abs() < 1e16 {
        format!("{x:.0}.")
    } else if x.abs() >= 1e-4 && x.abs() < 1e8 {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').to_string()
    } else {
        format!("{x:.4e}")
    }
}

fn visible(len: usize, summarise: bool) -> Vec<Option<usize>> {
    if summarise && len > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((len - EDGE_ITEMS..len).map(Some))
            .collect()
    } else {
        (0..len).map(Some).collect()
    }
}

fn write_axis(t: &Tensor, index: &mut Vec<usize>, width: usize, summarise: bool, out: &mut String) {
    let axis = index.len();
    let ndim = t.ndim();
    out.push('[');
    let items = visible(t.shape()[axis], summarise);
    for (pos, item) in items.iter().enumerate() {
        if pos > 0 {
            if axis == ndim - 1 {
                out.push(' ');
            } else {
                out.push_str(&"\n".repeat(ndim - axis - 1));
                out.push_str(&" ".repeat(axis + 1));
            }
        }
        match item {
            None => out.push_str(&format!("{:>width$}", "...")),
            Some(i) => {
                index.push(*i);
                if axis == ndim - 1 {
                    out.push_str(&format!("{:>width$}", format_value(t.get(index))));
                } else {
                    write_axis(t, index, width, summarise, out);
                }
                index.pop();
            }
        }
    }
    out.push(']');
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ndim() == 0 {
            return write!(f, "{}", format_value(self.item()));
        }
        if self.numel() == 0 {
            return write!(f, "[]");
        }
        let summarise = self.numel() > SUMMARY_THRESHOLD;
        let width = self
            .to_vec()
            .iter()
            .map(|&x| format_value(x).len())
            .max()
            .unwrap_or(1);
        let mut out = String::new();
        write_axis(self, &mut Vec::new(), width, summarise, &mut out);
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn prints_like_numpy() {
        let t = Tensor::from_vec(vec![1.0, 2.5, -3.0, 4.0], &[2, 2]);
        assert_eq!(t.to_string(), "[[ 1. 2.5]\n [-3.  4.]]");
        assert_eq!(Tensor::scalar(0.5).to_string(), "0.5");
    }

    #[test]
    fn big_tensors_are_summarised() {
        let t = Tensor::from_fn(&[2000], |i| i as f32);
        let s = t.to_string();
        assert!(s.contains("..."), "{s}");
        assert!(s.len() < 100, "{s}");
    }
}
