//! Conversions between tensors and nalgebra's dynamically sized `DMatrix<f32>` / `DVector<f32>`
//! (enabled by the `nalgebra` feature).
//!
//! nalgebra stores matrices column-major and tensors are row-major, so each conversion copies;
//! element `(row, column)` is the same value on both sides. A tensor view of any layout
//! (transposed, narrowed, broadcast) converts as the values it shows.

use nalgebra::{DMatrix, DVector};

use crate::error::TensorError;
use crate::tensor::Tensor;

/// A `[rows, columns]` tensor with the matrix's elements.
///
/// ```
/// use gradwork_tensor::Tensor;
/// use nalgebra::DMatrix;
///
/// let m = DMatrix::from_row_slice(2, 3, &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let t = Tensor::from(&m);
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// ```
impl From<&DMatrix<f32>> for Tensor {
    fn from(matrix: &DMatrix<f32>) -> Self {
        let (rows, columns) = matrix.shape();
        let mut data = crate::buffer::with_capacity(rows * columns);
        for row in 0..rows {
            data.extend((0..columns).map(|column| matrix[(row, column)]));
        }
        Tensor::from_vec(data, &[rows, columns])
    }
}

/// The matrix of a 2-D tensor; any other rank is an [`TensorError::InvalidArgument`] naming the
/// shape.
///
/// ```
/// use gradwork_tensor::Tensor;
/// use nalgebra::DMatrix;
///
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
/// let m = DMatrix::<f32>::try_from(&t).unwrap();
/// assert_eq!(m.shape(), (2, 3));
/// assert_eq!(m[(1, 0)], 4.0);
/// // Views convert as they look: the transpose of `t` is the transposed matrix.
/// assert_eq!(DMatrix::<f32>::try_from(&t.t()).unwrap(), m.transpose());
/// // A 1-D tensor is not a matrix.
/// assert!(DMatrix::<f32>::try_from(&Tensor::zeros(&[3])).is_err());
/// ```
impl TryFrom<&Tensor> for DMatrix<f32> {
    type Error = TensorError;

    fn try_from(tensor: &Tensor) -> Result<Self, Self::Error> {
        match *tensor.shape() {
            [rows, columns] => Ok(DMatrix::from_row_slice(rows, columns, &tensor.to_vec())),
            _ => Err(TensorError::invalid(
                "to_dmatrix",
                tensor.shape(),
                format!(
                    "a DMatrix needs a 2-D tensor, this one has {} axes",
                    tensor.ndim()
                ),
            )),
        }
    }
}

/// A 1-D tensor with the vector's elements.
///
/// ```
/// use gradwork_tensor::Tensor;
/// use nalgebra::DVector;
///
/// let v = DVector::from_vec(vec![1.0f32, 2.0, 3.0]);
/// assert_eq!(Tensor::from(&v).to_vec(), vec![1.0, 2.0, 3.0]);
/// ```
impl From<&DVector<f32>> for Tensor {
    fn from(vector: &DVector<f32>) -> Self {
        Tensor::from_slice(vector.as_slice(), &[vector.len()])
    }
}

/// The vector of a 1-D tensor; any other rank (a `[n, 1]` column included) is an
/// [`TensorError::InvalidArgument`] naming the shape.
///
/// ```
/// use gradwork_tensor::Tensor;
/// use nalgebra::DVector;
///
/// let t = Tensor::arange(0.0, 4.0, 1.0);
/// let v = DVector::<f32>::try_from(&t).unwrap();
/// assert_eq!(v.as_slice(), &[0.0, 1.0, 2.0, 3.0]);
/// assert!(DVector::<f32>::try_from(&Tensor::zeros(&[4, 1])).is_err());
/// ```
impl TryFrom<&Tensor> for DVector<f32> {
    type Error = TensorError;

    fn try_from(tensor: &Tensor) -> Result<Self, Self::Error> {
        match *tensor.shape() {
            [_] => Ok(DVector::from_vec(tensor.to_vec())),
            _ => Err(TensorError::invalid(
                "to_dvector",
                tensor.shape(),
                format!(
                    "a DVector needs a 1-D tensor, this one has {} axes",
                    tensor.ndim()
                ),
            )),
        }
    }
}
