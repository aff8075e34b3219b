//! The IDX format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST): a big-endian header
//! `0, 0, type, ndim`, `ndim` u32 sizes, then the values. Files ending in `.gz` are gunzipped on
//! the fly.

use std::io::Read;
use std::path::{Path, PathBuf};

use gradwork_tensor::Tensor;

use crate::csv_records::open_file;
use crate::error::{DataError, Result};

/// The IDX type code of unsigned bytes, the only element type of the MNIST family.
pub const IDX_UNSIGNED_BYTE: u8 = 0x08;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The sizes of the dimensions (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The values in row-major order.
    pub data: Vec<u8>,
}

/// How images come out of [`read_idx_images`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageLayout {
    /// `[n, rows * cols]`, for dense layers.
    Flat,
    /// `[n, 1, rows, cols]`, for convolutions (NCHW).
    Channels,
}

fn idx_error(path: &Option<PathBuf>, reason: impl Into<String>) -> DataError {
    DataError::Idx {
        path: path.clone(),
        reason: reason.into(),
    }
}

/// Reads an IDX file (gzipped when the name ends in `.gz`).
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    read_idx_from_reader(open_file(path)?, Some(path.to_path_buf()))
}

/// Reads IDX bytes from `reader`; `path` is only used in error messages.
pub fn read_idx_from_reader<R: Read>(mut reader: R, path: Option<PathBuf>) -> Result<IdxArray> {
    let io = |source: std::io::Error| DataError::Io {
        path: path.clone(),
        source,
    };
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic).map_err(io)?;
    if got < 4 {
        return Err(idx_error(
            &path,
            format!("the file is truncated: {got} of the 4 magic-number bytes"),
        ));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(idx_error(
            &path,
            format!(
                "bad magic number 0x{:02x}{:02x}{:02x}{:02x}: the first two bytes must be 0",
                magic[0], magic[1], magic[2], magic[3]
            ),
        ));
    }
    if magic[2] != IDX_UNSIGNED_BYTE {
        return Err(idx_error(
            &path,
            format!(
                "element type 0x{:02x} is not supported (only 0x08, unsigned byte)",
                magic[2]
            ),
        ));
    }
    let ndim = magic[3] as usize;
    if ndim == 0 {
        return Err(idx_error(&path, "the magic number declares 0 dimensions"));
    }
    let mut header = vec![0u8; 4 * ndim];
    let got = read_up_to(&mut reader, &mut header).map_err(io)?;
    if got < header.len() {
        return Err(idx_error(
            &path,
            format!(
                "the file is truncated in the header: {got} of {} dimension bytes",
                header.len()
            ),
        ));
    }
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| idx_error(&path, format!("dimensions {dims:?} overflow")))?;
    // Cap the initial allocation so a corrupt header cannot ask for terabytes up front.
    let mut data = Vec::with_capacity(expected.min(1 << 26));
    (&mut reader)
        .take(expected as u64)
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() < expected {
        return Err(idx_error(
            &path,
            format!(
                "the file is truncated: dimensions {dims:?} need {expected} data bytes, found {}",
                data.len()
            ),
        ));
    }
    let mut extra = [0u8; 1];
    if read_up_to(&mut reader, &mut extra).map_err(io)? > 0 {
        return Err(idx_error(
            &path,
            format!("trailing bytes after the {expected} data bytes of dimensions {dims:?}"),
        ));
    }
    Ok(IdxArray { dims, data })
}

/// Fills as much of `buf` as the reader has; returns how many bytes were read.
fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl IdxArray {
    /// The images of a 3-dimensional array `[n, rows, cols]` as `f32`, divided by 255 when
    /// `scale_to_unit` (so pixels lie in `[0, 1]`).
    pub fn to_images(&self, layout: ImageLayout, scale_to_unit: bool) -> Result<Tensor> {
        let [n, rows, cols] = self.dims[..] else {
            return Err(DataError::shape(
                "IdxArray::to_images",
                "[n, rows, cols]",
                &self.dims,
            ));
        };
        // Divide (not multiply by 1/255) so each pixel is the correctly rounded p/255, as torchvision.
        let divisor = if scale_to_unit { 255.0 } else { 1.0 };
        let values: Vec<f32> = self.data.iter().map(|&b| b as f32 / divisor).collect();
        let shape = match layout {
            ImageLayout::Flat => vec![n, rows * cols],
            ImageLayout::Channels => vec![n, 1, rows, cols],
        };
        Ok(Tensor::try_from_vec(values, &shape)?)
    }

    /// The labels of a 1-dimensional array.
    pub fn to_labels(&self) -> Result<Vec<usize>> {
        if self.dims.len() != 1 {
            return Err(DataError::shape("IdxArray::to_labels", "[n]", &self.dims));
        }
        Ok(self.data.iter().map(|&b| b as usize).collect())
    }
}

/// Reads an IDX image file as a tensor (see [`IdxArray::to_images`]).
pub fn read_idx_images(
    path: impl AsRef<Path>,
    layout: ImageLayout,
    scale_to_unit: bool,
) -> Result<Tensor> {
    read_idx(path)?.to_images(layout, scale_to_unit)
}

/// Reads an IDX label file.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    read_idx(path)?.to_labels()
}

/// One part (train or test) of MNIST.
#[derive(Debug, Clone)]
pub struct ImageDataset {
    /// The images, scaled to `[0, 1]`.
    pub images: Tensor,
    /// The label of each image.
    pub labels: Vec<usize>,
}

/// Reads `{prefix}-images-idx3-ubyte.gz` and `{prefix}-labels-idx1-ubyte.gz` from `dir` (prefix
/// `train` or `t10k`, as in the official MNIST distribution), checking that the counts agree.
///
/// ```no_run
/// use gradwork_data::{read_mnist, ImageLayout};
/// let train = read_mnist("datasets/mnist", "train", ImageLayout::Flat).unwrap();
/// assert_eq!(train.images.shape(), &[60000, 784]);
/// ```
pub fn read_mnist(
    dir: impl AsRef<Path>,
    prefix: &str,
    layout: ImageLayout,
) -> Result<ImageDataset> {
    let dir = dir.as_ref();
    let images_path = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
    let images = read_idx_images(&images_path, layout, true)?;
    let labels = read_idx_labels(dir.join(format!("{prefix}-labels-idx1-ubyte.gz")))?;
    if labels.len() != images.shape()[0] {
        return Err(idx_error(
            &Some(images_path),
            format!("{} images but {} labels", images.shape()[0], labels.len()),
        ));
    }
    Ok(ImageDataset { images, labels })
}
